"""From a validated spec to the normalized `RunSpec`: one function per format.

The input is the validated model of the spec. Nothing here looks at a class: a value's shape (text, list, mapping, number) says which form the user wrote. Each function
gathers the RunSpec's fields as plain mappings, and `RunSpec` validates them all at once.
"""

from __future__ import annotations

import os
import re
from typing import Any

from core.spec.runspec import Autoscaling, Interactive, Port, Retry, RunSpec, ServiceSpec

_SECRET_NAME = re.compile(r"TOKEN|KEY|SECRET|PASSW|CREDENTIAL|AUTH")  # searched in the upper-cased name


def plain(value: Any) -> Any:
    """A validated value as plain data: models become mappings of their fields."""
    if isinstance(value, (list, tuple)):
        return type(value)(plain(item) for item in value)
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if hasattr(value, "model_dump"):  # a pydantic model
        return value.model_dump()
    return value


def runspec(kind: str, spec: Any) -> RunSpec:
    """The RunSpec of a validated spec of `kind` (`vessl-run`, `dstack-task`, ...)."""
    return _BUILDERS[kind](spec)


# ---------------------------------------------------------------- VESSL

def _vessl_run(run: Any, kind: str = "vessl-run", **extra: Any) -> RunSpec:
    image, credential = (run.image, None) if run.image is None or isinstance(run.image, str) else (
        run.image.url, run.image.credential_name)
    max_duration = interactive = None
    if run.interactive is not None:
        max_duration = run.interactive.max_runtime
        jupyter = run.interactive.jupyter
        idle = None if jupyter is None else (  # beside `jupyter` is a misplacement, warned at validation
            jupyter.idle_timeout if jupyter.idle_timeout is not None else run.interactive.idle_timeout)
        interactive = Interactive(jupyter=jupyter is not None, idle_timeout=idle)
    return RunSpec(
        kind=kind, name=run.name, description=run.description or None, tags=run.tags,
        image=image, image_credential=credential, commands=_vessl_commands(run.run), env=_vessl_env(run.env),
        resources=_vessl_resources(run.resources), volumes=_vessl_volumes(run), ports=_vessl_ports(run.ports),
        max_duration=max_duration, interactive=interactive, **extra,
    )


def _vessl_commands(steps: Any) -> list[dict]:
    if steps is None:
        return []
    if isinstance(steps, str):
        return [{"command": steps}]
    out: list[dict] = []
    for step in steps:
        if isinstance(step, str):
            out.append({"command": step})
            continue
        out.append({"command": step.command, "workdir": step.workdir})
        if step.wait is not None:  # how long to pause after the command: a pause step of its own
            out.append({"wait": step.wait})
    return out


def _vessl_env(env: dict) -> list[dict]:
    out = []
    for name, value in env.items():
        if value is None or isinstance(value, str):
            out.append({"name": name, "value": value})
        elif isinstance(value.secret, str):  # a stored secret
            out.append({"name": name, "secret": True, "secret_ref": value.secret})
        else:
            out.append({"name": name, "value": value.value, "secret": bool(value.secret)})
    return out


def _vessl_volumes(run: Any) -> list[dict]:
    return [{"kind": kind, "path": path, "source": src["source"], "ref": src.get("ref"),
             "credential": src.get("credential"), "readonly": src.get("readonly", kind == "mount" and src["source"].startswith("hostpath://"))}
            for kind, table in (("import", run.import_), ("mount", run.mount), ("export", run.export))
            for path, src in table.items()]


def _vessl_ports(ports: list) -> list[dict]:
    return [{"container_port": p} if isinstance(p, int) else
            {"container_port": p.port, "name": p.name, "protocol": p.type} for p in ports]


def _vessl_resources(res: Any) -> dict:
    req = res.requests
    cpu = req.cpu if req is not None and req.cpu is not None else res.cpu
    memory = req.memory if req is not None and req.memory is not None else res.memory
    gpu_req = (req.nvidia_gpu or req.gpu if req is not None else None) or res.accelerators
    gpu: dict = {}
    if gpu_req is not None:
        gpu = {"vendor": "nvidia", "names": [gpu_req.device_type] if gpu_req.device_type else [],
               "count": {"min": gpu_req.quantity, "max": gpu_req.quantity}, "mig": gpu_req.mig_resource_type}
    if req is not None and req.nvidia_mig is not None:
        gpu["mig"] = req.nvidia_mig.mig_resource_type or req.nvidia_mig.device_type
    return {
        "cpu": None if cpu is None else {"min": cpu, "max": cpu},
        "memory_gb": None if memory is None else {"min": memory, "max": memory},
        "gpu": gpu, "preset": res.preset, "cluster": res.cluster, "node_names": res.node_names,
        "spot": res.spot or None,
    }


def _vessl_revision(rev: Any) -> RunSpec:
    svc = rev.service
    auto = Autoscaling()
    if svc.autoscaling is not None:
        a = svc.autoscaling
        metric = {"nvidia.com/gpu": "gpu", "requests": "rps"}.get(a.metric, a.metric)
        auto = Autoscaling(min=a.min, max=a.max, metric=metric, target=a.target)
    health = svc.healthcheck
    service = ServiceSpec(
        port=svc.expose, autoscaling=auto, monitoring=[plain(m) for m in svc.monitoring],
        health_path=health.path if health and health.type == "http" else None,
        health_type="http" if health and health.type == "http" and health.path else "tcp",
    )
    spec = _vessl_run(rev, "vessl-revision", message=rev.message, service=service)
    if not any(p.container_port == svc.expose for p in spec.ports):
        spec.ports.append(Port(container_port=svc.expose, protocol="http"))
    return spec


# ---------------------------------------------------------------- dstack

def _dstack_env(env: Any) -> list[dict]:
    """`NAME=value` items, `NAME` taken from the submitting shell (secret when it looks like one),
    or a mapping."""
    if isinstance(env, dict):
        return [{"name": k, "value": v} for k, v in env.items()]
    out = []
    for item in env:
        name, sep, value = item.partition("=")
        if sep:
            out.append({"name": name, "value": value})
        else:
            out.append({"name": name, "value": os.environ.get(name), "from_client_env": True,
                        "secret": bool(_SECRET_NAME.search(name.upper()))})
    return out


def _dstack_retry(retry: Any) -> Retry | None:
    if retry is True:
        return Retry()
    if retry is None or retry is False:
        return None
    policy = Retry(duration=retry.duration)
    if retry.on_events is not None:
        policy.on_events = list(retry.on_events)
    return policy


def _dstack_resources(res: Any, spot: str | None) -> dict:
    if res is None:
        return {"gpu": {}, "spot": spot}
    arch, cpu = res.cpu if res.cpu else (None, None)
    return {"cpu": plain(cpu), "cpu_arch": arch, "memory_gb": plain(res.memory), "gpu": plain(res.gpu) or {},
            "disk_gb": plain(res.disk), "shm_size_gb": res.shm_size, "spot": spot}


def _dstack_volumes(volumes: list) -> list[dict]:
    out = []
    for v in volumes:
        if isinstance(v, str):
            source, _, path = v.partition(":")
            kind = "bind" if "/" in source or source.startswith("~") else "named"
            out.append({"kind": kind, "source": source, "path": path})
        elif hasattr(v, "instance_path"):
            out.append({"kind": "bind", "source": v.instance_path, "path": v.path, "optional": v.optional})
        else:
            name = v.name if isinstance(v.name, str) else ",".join(v.name)
            out.append({"kind": "named", "source": name, "path": v.path})
    return out


def _dstack_ports(ports: list[tuple]) -> list[dict]:
    return [{"local_port": local, "container_port": container} for local, container in ports]


def _dstack_common(run: Any, kind: str, commands: list[str]) -> dict:
    """The fields every runnable dstack configuration (task, service, dev-environment) gives."""
    return dict(
        kind=kind, name=run.name, image=run.image, python=run.python, entrypoint=run.entrypoint,
        working_dir=run.working_dir, user=run.user, privileged=bool(run.privileged or run.docker),
        shell=run.shell, commands=[{"command": c} for c in commands], env=_dstack_env(run.env),
        resources=_dstack_resources(run.resources, run.spot_policy), volumes=_dstack_volumes(run.volumes),
        max_duration=run.max_duration, stop_duration=run.stop_duration, idle_duration=run.idle_duration,
        retry=_dstack_retry(run.retry),
        registry_username=run.registry_auth.username if run.registry_auth else None,
        registry_password=run.registry_auth.password if run.registry_auth else None,
    )


def _task(task: Any) -> RunSpec:
    commands = task.commands or [c for g in task.groups or [] for c in g.commands]
    return RunSpec(**_dstack_common(task, "dstack-task", commands), ports=_dstack_ports(task.ports),
                   nodes=task.nodes or 1)


def _service(svc: Any) -> RunSpec:
    local, container = svc.port
    ranged = svc.replicas is not None and not isinstance(svc.replicas, list)  # else replica groups, or 1
    lo = int(svc.replicas.min or 0) if ranged else 1
    hi = (int(svc.replicas.max) if svc.replicas.max is not None else max(lo, 1)) if ranged else 1
    scaling = svc.scaling
    autoscaling = Autoscaling(min=lo, max=max(hi, 1), metric=scaling.metric if scaling else None,
                              target=scaling.target if scaling else None)
    if scaling:
        autoscaling.scale_up_delay, autoscaling.scale_down_delay = scaling.scale_up_delay, scaling.scale_down_delay
    probe = (svc.probes or [None])[0]
    service = ServiceSpec(port=container, autoscaling=autoscaling, health_path=(probe.url or "/") if probe else None,
                          health_type="http" if probe else "tcp")
    ports = [Port(container_port=container, local_port=local, protocol="http")]
    return RunSpec(**_dstack_common(svc, "dstack-service", svc.commands), ports=ports, service=service)


def _dev_environment(env: Any) -> RunSpec:
    spec = RunSpec(**_dstack_common(env, "dstack-dev-environment", env.setup + env.init),
                   ports=_dstack_ports(env.ports), interactive=Interactive(ide=env.ide))
    if env.inactivity_duration is not None:
        spec.idle_duration = env.inactivity_duration
    return spec


def _fleet(fleet: Any) -> RunSpec:
    nodes = 1 if fleet.nodes is None else max(1, int(fleet.nodes.min or 0))  # a range or {min, target, max}
    return RunSpec(
        kind="dstack-fleet", name=fleet.name, env=_dstack_env(fleet.env), nodes=nodes,
        resources=_dstack_resources(fleet.resources, fleet.spot_policy),
        idle_duration=fleet.idle_duration, retry=_dstack_retry(fleet.retry),
    )


_BUILDERS = {
    "vessl-run": _vessl_run, "vessl-revision": _vessl_revision, "dstack-task": _task, "dstack-service": _service,
    "dstack-dev-environment": _dev_environment, "dstack-fleet": _fleet,
}
