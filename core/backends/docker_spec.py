"""RunSpec -> Docker container: pure translation, no engine calls (golden-file tested).

`container_kwargs` returns keyword arguments for the docker SDK's `containers.create`;
`volume_plan` says which volumes to create, which imports to stage and which paths to export;
`device_requests` turns a GPU request into Docker device requests (plain dicts the SDK accepts).

Secrets never reach the container's configuration (`docker inspect` shows its env and command):
`secrets_archive` is a tar the backend puts into the created container before starting it, and the
container's command starts with `SECRETS_PRELUDE`, which exports them from that file, removes the
file and execs the run's own command.

Commands run in one shell, step after step: a step's `workdir` is `cd`-ed into first, a failing
step ends the run with its exit code, a `wait` step sleeps. The shell is the spec's `shell`, else
`bash` when the image has it, else POSIX `sh` (busybox and alpine images have no bash). A spec with
an `entrypoint` runs it with the commands as its arguments (dstack's rule); a spec with neither
runs the image's own entrypoint and command.

Resource limits follow the upper bound of each range (`cpu: 2` -> 2 cores, `memory: 8GB..` -> no
limit). Memory sizes count 1 GB = 1024**3 bytes, as RunSpec does.
"""

from __future__ import annotations

import io
import re
import shlex
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.data import sources
from core.data.sources import split
from core.spec.runspec import GpuSpec, Range, RunSpec, Volume

RUN_LABEL = "vessl-tui.run"
ATTEMPT_LABEL = "vessl-tui.attempt"
KEEP_LABEL = "vessl-tui.keep"  # named user volumes: created for a run, kept when it is removed
STAGE_PATH = "/vessl-tui-stage"  # where helper containers see a staging volume

#: Runs the script given as $1 with bash when the image has it, else with POSIX sh.
AUTO_SHELL = 'if command -v bash >/dev/null 2>&1; then exec bash -c "$1"; fi; exec /bin/sh -c "$1"'

GIB = 1024**3

SECRETS_DIR = ".vessl-tui-secrets"  # under the container's /, put there before it starts
#: The container's command when the run has secrets: `sh -c PRELUDE vessl-tui ARGV...` exports them
#: from the file, removes it, then execs ARGV (the run's own entrypoint and command).
SECRETS_PRELUDE = (f"set -a; . /{SECRETS_DIR}/env; set +a; rm -f /{SECRETS_DIR}/env; "
                   f"rmdir /{SECRETS_DIR} 2>/dev/null; exec \"$@\"")


@dataclass
class StagedImport:
    """Data copied into volume `volume` (mounted at `path`) before the container starts: the
    spec's import source (fetched on this machine by core.data.imports) at `ref`."""

    volume: str
    path: str
    source: str
    ref: str | None = None
    optional: bool = False


@dataclass
class VolumePlan:
    """What the backend creates and copies around the container.

    `binds` is the SDK's `volumes=` mapping (host path or volume name -> {"bind", "mode"});
    `create` lists volumes to create when absent ({"name", "labels", "driver_opts"?});
    `exports` are container paths, copied to the run's artifacts folder (then sent on by
    core.data.exports);
    `problems` are sentences for sources this backend cannot provide.
    """

    binds: dict[str, dict[str, str]] = field(default_factory=dict)
    create: list[dict[str, Any]] = field(default_factory=list)
    imports: list[StagedImport] = field(default_factory=list)
    exports: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def safe_name(text: str) -> str:
    """`text` made valid as a Docker container or volume name."""
    cleaned = re.sub(r"[^a-zA-Z0-9_.-]+", "-", text).strip("-.")
    return cleaned or "run"


def container_name(run_id: str, attempt: int) -> str:
    return f"vessl-tui-{safe_name(run_id)}-{attempt}"


def run_labels(run_id: str, attempt: int | None = None) -> dict[str, str]:
    labels = {RUN_LABEL: run_id}
    if attempt is not None:
        labels[ATTEMPT_LABEL] = str(attempt)
    return labels


# --- commands ---------------------------------------------------------------------------------


def command_script(spec: RunSpec) -> str | None:
    """The shell script of the spec's steps, or None when it has none."""
    lines: list[str] = []
    for step in spec.commands:
        if step.wait is not None:
            lines.append(f"sleep {_number(step.wait)}")
        if step.command is None:
            continue
        if step.workdir:
            lines.append(f"cd {shlex.quote(step.workdir)} || exit")
        lines += ["{", step.command.rstrip("\n"), "} || exit"]
    return "\n".join(lines) + "\n" if lines else None


def entrypoint_and_command(spec: RunSpec) -> tuple[list[str] | None, list[str] | None]:
    """(entrypoint, command) of the container; (None, None) keeps the image's own."""
    if spec.entrypoint:
        args = [step.command for step in spec.commands if step.command]
        return shlex.split(spec.entrypoint), args or None
    script = command_script(spec)
    if script is None:
        return None, None
    if spec.shell:
        return [spec.shell, "-c"], [script]
    return ["/bin/sh", "-c", AUTO_SHELL, "vessl-tui"], [script]


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


# --- resources --------------------------------------------------------------------------------


def _limit(value: Range | None) -> float | None:
    return None if value is None else value.max


def device_requests(gpu: GpuSpec, device_ids: list[str] | None = None) -> list[dict[str, Any]]:
    """Docker device requests for `gpu`: named devices when `device_ids` are given, else a count."""
    if gpu.wanted <= 0:
        return []
    request: dict[str, Any] = {"driver": "nvidia", "capabilities": [["gpu"]]}
    if device_ids:
        request["device_ids"] = list(device_ids[: gpu.wanted])
    else:
        request["count"] = gpu.wanted
    return [request]


def resource_kwargs(spec: RunSpec, device_ids: list[str] | None = None) -> dict[str, Any]:
    """`nano_cpus`, `mem_limit`, `shm_size` and `device_requests`, only those the spec sets."""
    res = spec.resources
    out: dict[str, Any] = {}
    cpu = _limit(res.cpu)
    if cpu:
        out["nano_cpus"] = int(cpu * 1e9)
    memory = _limit(res.memory_gb)
    if memory:
        out["mem_limit"] = int(memory * GIB)
    if res.shm_size_gb:
        out["shm_size"] = int(res.shm_size_gb * GIB)
    requests = device_requests(res.gpu, device_ids)
    if requests:
        out["device_requests"] = requests
    return out


# --- volumes ----------------------------------------------------------------------------------


def _local_path(rest: str, base_dir: Path | None) -> str:
    path = Path(rest if rest.startswith("/") or base_dir is None else base_dir / rest)
    return str(path if path.is_absolute() else "/" + str(path))


def volume_plan(spec: RunSpec, run_id: str, base_dir: Path | None = None, cluster: str = "docker") -> VolumePlan:
    """Plan the spec's volumes for run `run_id` on `cluster`; relative host paths resolve against
    `base_dir`."""
    plan = VolumePlan()
    labels = run_labels(run_id)
    prefix = f"vessl-tui-{safe_name(run_id)}"
    for index, volume in enumerate(spec.volumes):
        mode = "ro" if volume.readonly else "rw"
        if volume.kind == "bind":
            plan.binds[_local_path(volume.source, base_dir)] = {"bind": volume.path, "mode": mode}
        elif volume.kind == "named":
            plan.create.append({"name": volume.source, "labels": {**labels, KEEP_LABEL: "true"}})
            plan.binds[volume.source] = {"bind": volume.path, "mode": mode}
        elif volume.kind == "mount" and not sources.copied_mount(volume):
            _plan_mount(plan, volume, index, prefix, labels, base_dir, cluster)
        elif volume.kind in ("import", "mount"):  # a mount here is a copy (object store, registry)
            name = f"{prefix}-import-{index}"
            plan.imports.append(StagedImport(name, volume.path, volume.source, volume.ref, volume.optional))
            plan.create.append({"name": name, "labels": dict(labels)})
            plan.binds[name] = {"bind": volume.path, "mode": "rw" if volume.kind == "import" else "ro"}
        elif volume.kind == "export":
            plan.exports.append(volume.path)
        if volume.kind in ("import", "export") or sources.copied_mount(volume):
            problem = sources.problem(volume, cluster)
            if problem:
                plan.problems.append(problem)
    return plan


def _plan_mount(plan: VolumePlan, volume: Volume, index: int, prefix: str, labels: dict[str, str],
                base_dir: Path | None, cluster: str) -> None:
    mode = "ro" if volume.readonly else "rw"
    scheme, rest = split(volume.source)
    if scheme in ("hostpath", "file", ""):
        plan.binds[_local_path(rest, base_dir)] = {"bind": volume.path, "mode": mode}
    elif scheme == "nfs":
        server, _, export = rest.partition("/")
        name = f"{prefix}-nfs-{index}"
        opts = {"type": "nfs", "o": f"addr={server},{mode}", "device": f":/{export}"}
        plan.create.append({"name": name, "labels": dict(labels), "driver": "local", "driver_opts": opts})
        plan.binds[name] = {"bind": volume.path, "mode": mode}
    else:
        plan.problems.append(sources.problem(volume, cluster) or f"mount {volume.source} is not supported.")


# --- the container ----------------------------------------------------------------------------


def port_bindings(spec: RunSpec) -> dict[str, tuple]:
    """`ports=` for the SDK: every port published on 127.0.0.1 at a free host port.

    Never at `local_port`: two runs (or replicas) asking for the same one would collide; the
    tunnel manager forwards `local_port` to wherever `port_target` says the port landed.
    """
    out: dict[str, tuple] = {}
    for port in spec.ports:
        out[f"{port.container_port}/{'udp' if port.protocol == 'udp' else 'tcp'}"] = ("127.0.0.1",)
    if spec.service and not any(key.startswith(f"{spec.service.port}/") for key in out):
        out[f"{spec.service.port}/tcp"] = ("127.0.0.1",)
    return out


def environment(spec: RunSpec) -> dict[str, str]:
    """The container's configured env: every variable with a value except secrets (see
    `secrets_archive`)."""
    return {env.name: env.value for env in spec.env if env.value is not None and not env.secret}


def secret_environment(spec: RunSpec) -> dict[str, str]:
    """The secret variables with a value: they reach the container only through `secrets_archive`."""
    return {env.name: env.value for env in spec.env if env.value is not None and env.secret}


def secrets_archive(spec: RunSpec) -> bytes | None:
    """A tar of `SECRETS_DIR/env` (shell assignments of the secret variables) to put at the
    container's `/` before it starts; None when the run has no secret."""
    values = secret_environment(spec)
    if not values:
        return None
    data = "".join(f"{name}={shlex.quote(value)}\n" for name, value in values.items()).encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        folder = tarfile.TarInfo(SECRETS_DIR)
        folder.type, folder.mode = tarfile.DIRTYPE, 0o1777  # a non-root `user` removes the file too
        tar.addfile(folder)
        info = tarfile.TarInfo(f"{SECRETS_DIR}/env")
        info.size, info.mode = len(data), 0o644
        tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def with_secrets_prelude(entrypoint: list[str] | None, command: list[str] | None,
                         image_config: dict[str, Any] | None) -> tuple[list[str], list[str]]:
    """(entrypoint, command) that run `SECRETS_PRELUDE` first, then what would have run: the given
    entrypoint and command, or (both None) the image's own `Entrypoint` and `Cmd`."""
    if entrypoint is None and command is None:
        config = image_config or {}
        argv = list(config.get("Entrypoint") or []) + list(config.get("Cmd") or [])
    else:
        argv = list(entrypoint or []) + list(command or [])
    return ["/bin/sh", "-c", SECRETS_PRELUDE, "vessl-tui"], argv


def container_kwargs(
    spec: RunSpec,
    *,
    run_id: str,
    attempt: int = 1,
    network_mode: str = "host",
    plan: VolumePlan | None = None,
    device_ids: list[str] | None = None,
    init: bool = True,
    image_config: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Keyword arguments for `client.containers.create(**kwargs)`.

    `network_mode` "bridge" publishes the spec's ports on 127.0.0.1; "host" shares the engine
    host's network (ports are reachable as they are); "none" isolates the container. `init` runs
    Docker's init as PID 1 so that SIGTERM reaches the command. A spec with secrets starts with
    `SECRETS_PRELUDE`; `image_config` (the image's `Config`) gives the command to run after it
    when the spec has none.
    """
    plan = plan or volume_plan(spec, run_id)
    entrypoint, command = entrypoint_and_command(spec)
    if secret_environment(spec):
        entrypoint, command = with_secrets_prelude(entrypoint, command, image_config)
    kwargs: dict[str, Any] = {
        "image": spec.image,
        "name": container_name(run_id, attempt),
        "labels": run_labels(run_id, attempt),
        "detach": True,
        "init": init,
        "network_mode": network_mode,
    }
    if entrypoint is not None:
        kwargs["entrypoint"] = entrypoint
    if command is not None:
        kwargs["command"] = command
    env = environment(spec)
    if env:
        kwargs["environment"] = env
    if spec.working_dir:
        kwargs["working_dir"] = spec.working_dir
    if spec.user:
        kwargs["user"] = spec.user
    if spec.privileged:
        kwargs["privileged"] = True
    if network_mode == "bridge":
        ports = port_bindings(spec)
        if ports:
            kwargs["ports"] = ports
    if plan.binds:
        kwargs["volumes"] = plan.binds
    kwargs.update(resource_kwargs(spec, device_ids))
    return kwargs
