"""Runs on SSH hosts (cluster kind "ssh"), over the host's one shared paramiko connection.

A run lives in its own folder on the host, `<work_root or ~/.vessl-tui>/runs/<run id>/`:

    run.sh       the run's commands (no secrets: they travel in the environment)
    wrapper.sh   started with `setsid nohup`, so the run outlives the connection; it writes
    pid          the wrapper's pid = the run's process group and session id,
    log          stdout and stderr of the commands, appended,
    exit_code    the commands' exit status, once they ended (absent after SIGKILL),
    work/        the default working directory; imports land and exports are taken here.

Env and secrets reach the host on the exec channel's stdin (`sh -s` reads a script that exports
them and starts the wrapper): never on a command line (`ps`), never in a file. That exec channel
stays open as the run's live log (`core.backends.ssh_live`: the log as it is written, then the run's
end); without it (a supervisor that took the run over, a dropped link, a host whose `tail` cannot
follow a pid) `stream` reads the log over SFTP from a byte offset and reconnects with backoff, and
`wait` reads the run's status; `stop` sends
SIGTERM to the run's process group, then SIGKILL after the grace; `attach` checks the pid (or a
written exit code) from any client.

Interactive runs: with `interactive.jupyter`, Jupyter is started on the host's 127.0.0.1, on the
first port from 8888 (the cluster's `options.jupyter_port` when set) that is free and not claimed by
another live run's Jupyter there (`jupyter.port` in its run folder), so several notebooks share one
host. It gets the run's token (`core.jupyter`: derived from the user's key, never stored) in
JUPYTER_TOKEN, never on the command line. `options.jupyter_command` names the program when it is
not `jupyter` on the login PATH (e.g. `/opt/conda/bin/jupyter`); when there is none, the
provisioning log says so and the run goes on without it. `idle_timeout`
becomes Jupyter's `shutdown_no_activity_timeout` (Jupyter stops itself, the run goes on);
`max_duration` (VESSL `max_runtime`) is enforced by the run's supervisor, which stops the run (status terminated).

`runtime: docker` runs the same specs in containers of the host's Docker engine, reached by the
Docker backend at `ssh://user@host:port`; host keys are still verified here first.
"""

from __future__ import annotations

import secrets
import shlex
import threading
import time
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import paramiko

from core.backends.base import (
    Backend,
    BackendError,
    Capacity,
    ClusterCheck,
    ExitInfo,
    HostKeys,
    PortAccess,
    ReportedMetrics,
    RunContext,
    RunMetrics,
    ShellAccess,
    gpu_env,
)
from core.curves.files import REPORTED
from core.backends.ssh_files import ExecFiles, close_quietly as _close, download as _download, read_at as _read_at
from core.backends.ssh_files import q, upload as _upload
from core.backends.ssh_live import HEADER, LiveLog, FileFollower, file_follow_command, follow_script
from core import sshmux
from core.sshconn import (SftpUnavailable, SshConnection, SshError, _pool_get, host_key_status, resolve_target,
                          ssh_argv, trust_host_key)

if TYPE_CHECKING:
    from core.config import ClusterConfig
    from core.spec.runspec import RunSpec

#: What a dropped link raises while a channel or an SFTP request is in flight.
LINK_ERRORS = (SshError, paramiko.SSHException, OSError, EOFError)
JUPYTER_PORT = 8888
RECONNECT_DEADLINE_S = 300.0
#: The least time `stop` tries to reach the host for (else the run's grace).
STOP_REACH_S = 5.0

# `setsid` execs in place (the launching shell's children never lead a process group), so the
# wrapper's pid is `$!` of the launch and the run's process group and session id.
WRAPPER = """\
echo $$ > pid.tmp && mv pid.tmp pid
trap ':' TERM INT HUP
{shell} ./run.sh >> log 2>&1
code=$?
echo $code > exit_code.tmp && mv exit_code.tmp exit_code
"""


# Run by the host's python3 with argv [run folder, first port]: prints the port it claimed.
JUPYTER_PORT_CLAIM = '''
import os, socket, sys, time
run_dir, first = sys.argv[1], int(sys.argv[2])
runs = os.path.dirname(os.path.abspath(run_dir))

def live(folder):
    try:
        os.kill(-int(open(os.path.join(folder, "pid")).read()), 0)
        return True
    except (OSError, ValueError):
        pass
    try:  # not started yet: its claim holds for a minute
        return not os.path.exists(os.path.join(folder, "pid")) and \\
            time.time() - os.path.getmtime(os.path.join(folder, "jupyter.port")) < 60
    except OSError:
        return False

claimed = set()
for name in os.listdir(runs):
    folder = os.path.join(runs, name)
    try:
        port = int(open(os.path.join(folder, "jupyter.port")).read())
    except (OSError, ValueError):
        continue
    if os.path.abspath(folder) != os.path.abspath(run_dir) and live(folder):
        claimed.add(port)
for port in range(first, first + 200):
    if port in claimed:
        continue
    probe = socket.socket()
    try:
        probe.bind(("127.0.0.1", port))
    except OSError:
        continue
    finally:
        probe.close()
    with open(os.path.join(run_dir, "jupyter.port"), "w") as out:
        out.write(str(port))
    print(port)
    break
'''


def remote_run_dir(root: str, run_id: str) -> str:
    return str(PurePosixPath(root) / "runs" / run_id)


def run_script(spec: "RunSpec", jupyter: bool, jupyter_port: int = JUPYTER_PORT,
               jupyter_command: str = "jupyter") -> str:
    """The commands of `spec` as a POSIX shell script run from the run folder; the first failing
    command ends it with its exit status."""
    lines = ["trap ':' TERM INT HUP", 'cd "$VESSL_TUI_RUN_DIR/work" || exit 1']
    if spec.shell:
        lines.append(f"RUN_SHELL={q(spec.shell)}")
    else:
        lines.append("if command -v bash >/dev/null 2>&1; then RUN_SHELL=bash; else RUN_SHELL=sh; fi")
    if jupyter:
        from core.jupyter import launch_line

        idle = spec.interactive.idle_timeout if spec.interactive else None
        lines.append(launch_line(jupyter_command, jupyter_port, idle, "../jupyter.log"))
    default_dir = spec.working_dir
    for step, command in enumerate(spec.commands):
        if command.wait is not None:
            lines.append(f"sleep {float(command.wait):g} || exit $?")
            continue
        if not command.command:
            continue
        workdir = command.workdir or default_dir
        cd = f"mkdir -p {q(workdir)} && cd {q(workdir)} && " if workdir else ""
        body = command.command if command.command.endswith("\n") else command.command + "\n"
        marker = f"VESSL_TUI_STEP_{step}_{secrets.token_hex(4)}"
        lines.append(f"cat > ../step-{step}.sh <<'{marker}'\n{body}{marker}")
        lines.append(f'( {cd}exec "$RUN_SHELL" "$VESSL_TUI_RUN_DIR/step-{step}.sh" ) || exit $?')
    return "\n".join(lines) + "\n"


def env_exports(env: dict[str, str]) -> str:
    return "".join(f"export {name}={q(value)}\n" for name, value in env.items())


def launch_script(run_dir: str, env: dict[str, str], script: str, shell: str = "sh") -> str:
    """What `sh -s` reads on stdin to start a run: exports, the run folder, the detached wrapper.
    Prints one line: HEADER, the wrapper's pid (in `$pid`), a space, the run folder's absolute path."""
    return (
        "set -e\n"
        + env_exports(env)
        + f"mkdir -p {q(run_dir)}/work && cd {q(run_dir)}\n"
        + 'VESSL_TUI_RUN_DIR="$PWD"; export VESSL_TUI_RUN_DIR\n'
        + f'VESSL_TUI_METRICS="$PWD/{REPORTED}"; export VESSL_TUI_METRICS\n'
        + "if [ -e pid ] || [ -e exit_code ]; then rm -f pid exit_code; fi\n"  # a later attempt
        + f"printf '%s' {q(script)} > run.sh\n"  # printf is a builtin: no process per file
        + f"printf '%s' {q(WRAPPER.format(shell=shell))} > wrapper.sh\n"
        + "setsid nohup sh ./wrapper.sh </dev/null >/dev/null 2>&1 &\n"
        + f'pid=$!; echo "{HEADER.decode()}$pid $VESSL_TUI_RUN_DIR"\n'
    )


def status_command(run_dir: str, pid: int) -> str:
    """Prints the exit code when written, else "running" or "gone" (ended without one)."""
    return (f"cat {q(run_dir)}/exit_code 2>/dev/null || {{ kill -0 -{pid} 2>/dev/null && echo running; }} "
            "|| echo gone")


def stop_command(pid: int, grace: float) -> str:
    ticks = max(0, int(grace * 10))
    return (f"kill -TERM -{pid} 2>/dev/null || exit 0; i=0; while kill -0 -{pid} 2>/dev/null; do "
            f"if [ $i -ge {ticks} ]; then kill -KILL -{pid} 2>/dev/null; break; fi; sleep 0.1; i=$((i+1)); done")


def _exit_info(text: str) -> ExitInfo | None:
    text = text.strip()
    if text == "running":
        return None
    if text.lstrip("-").isdigit():
        code = int(text)
        return ExitInfo(code, f"signal {code - 128}" if code > 128 else None)
    return ExitInfo(None, "the run's processes ended without an exit code (killed)")


class SshBackend(Backend, PortAccess, ShellAccess, RunMetrics, HostKeys, ReportedMetrics):
    """Processes on an SSH host, detached from the connection that started them."""

    kind = "ssh"

    def __new__(cls, cluster: "ClusterConfig", *args: Any, **kw: Any) -> "SshBackend":
        if cls is SshBackend and cluster.runtime == "docker":
            return super().__new__(SshDockerBackend)
        return super().__new__(cls)

    def __init__(self, cluster: "ClusterConfig"):
        super().__init__(cluster)
        self.target = resolve_target(cluster)
        self._local = threading.local()  # one SFTP session per thread
        self._no_sftp = False  # the host has no SFTP subsystem: files move over exec channels
        self._ended: dict[str, threading.Event] = {}  # run folder -> set once `wait` saw the run end
        self._live: dict[str, tuple[int, LiveLog]] = {}  # run folder -> (log offset, its launch channel)

    def _ended_event(self, handle: dict[str, Any]) -> threading.Event:
        """Set by `wait` when the run has ended: wakes a log stream idling on that run at once."""
        return self._ended.setdefault(handle["dir"], threading.Event())

    # --- connection ------------------------------------------------------------------------------

    def connection(self) -> SshConnection:
        """The host's shared connection (connected; one attempt)."""
        conn = _pool_get(self.target)
        conn.ensure()
        return conn

    def _run(self, command: str, stdin: bytes = b"", deadline: float = RECONNECT_DEADLINE_S,
             timeout: float | None = 60.0) -> tuple[int, str, str]:
        """Run a command, reconnecting with backoff for up to `deadline` seconds if the link is down."""
        conn = _pool_get(self.target)
        end = time.monotonic() + deadline
        while True:
            try:
                conn.ensure(deadline=max(0.0, end - time.monotonic()))
                return conn.run(command, stdin=stdin, timeout=timeout)
            except SshError as exc:
                if not exc.retryable or time.monotonic() >= end:
                    raise
                time.sleep(0.2)

    def _dir(self, ctx: RunContext, handle: dict[str, Any] | None = None) -> str:
        """The run folder: absolute once started (from the handle), before that relative to the
        login directory, where both exec channels and SFTP start."""
        if handle and handle.get("dir"):
            return handle["dir"]
        root = self.cluster.work_root or "~/.vessl-tui"
        root = root[2:] or "." if root.startswith("~/") else ("." if root == "~" else root)
        return remote_run_dir(root, ctx.run_id)

    def _sftp(self, deadline: float = RECONNECT_DEADLINE_S) -> Any:
        """This thread's SFTP session on the shared connection (renewed after a reconnect); on a
        host without an SFTP subsystem, `ExecFiles` (the same reads over exec channels)."""
        conn = _pool_get(self.target)
        conn.ensure(deadline=deadline)
        if self._no_sftp:
            return ExecFiles(conn)
        cached = getattr(self._local, "sftp", None)
        if cached is not None and cached[0] == (id(conn), conn.connects) and conn.is_alive():
            return cached[1]
        _close(cached[1] if cached else None)
        try:
            sftp = conn.sftp()
        except SftpUnavailable:
            self._no_sftp = True
            return ExecFiles(conn)
        self._local.sftp = ((id(conn), conn.connects), sftp)
        return sftp

    def _forget_sftp(self) -> None:
        cached = getattr(self._local, "sftp", None)
        self._local.sftp = None
        _close(cached[1] if cached else None)

    # --- Backend ---------------------------------------------------------------------------------

    def reach(self) -> ClusterCheck:
        """The login alone (host key verified, authenticated): no remote command is run. A warm
        OpenSSH master answers at once (and is made here when none is, for the run to use)."""
        if sshmux.ensure_master(self.target):
            return ClusterCheck(True, f"{self.target.label} reachable")
        try:
            self.connection()
        except SshError as exc:
            return ClusterCheck(False, str(exc))
        return ClusterCheck(True, f"{self.target.label} reachable")

    def check(self) -> ClusterCheck:
        from core.metrics import (COMPUTE_CAP_COMMAND, NVIDIA_SMI_COMMAND, apply_compute_caps, gpu_offers,
                                  parse_sampler_output)

        try:
            conn = self.connection()
            _, out, _ = conn.run("getconf _NPROCESSORS_ONLN; grep MemTotal /proc/meminfo; "
                                 "df -Pk . | tail -1", timeout=30)
            code, smi, err = conn.run(NVIDIA_SMI_COMMAND, timeout=30)
        except SshError as exc:
            return ClusterCheck(False, str(exc))
        lines = out.splitlines() + ["", "", ""]
        capacity = Capacity(
            cpus=float(lines[0]) if lines[0].strip().isdigit() else None,
            memory_gb=int(lines[1].split()[1]) / 1024 / 1024 if len(lines[1].split()) > 1 else None,
            disk_gb=int(lines[2].split()[3]) / 1024 / 1024 if len(lines[2].split()) > 3 else None,
        )
        gpus = parse_sampler_output(smi + err, code, host=self.cluster.name)
        if gpus.gpus and self.cluster.gpus is None:
            try:
                apply_compute_caps(gpus, conn.run(COMPUTE_CAP_COMMAND, timeout=30)[1])
            except SshError:
                pass  # the capability stays unknown: the resolver says it is not checked
        capacity.gpus = gpu_offers(gpus, self.cluster.gpus)
        return ClusterCheck(True, f"{self.target.label} reachable", capacity,
                            details={"gpu_state": gpus.state, "gpu_message": gpus.message})

    def validate(self, spec: "RunSpec") -> list[str]:
        problems = []
        if spec.nodes > 1:
            problems.append(f"cluster {self.cluster.name} is one SSH host; it cannot run {spec.nodes} nodes.")
        from core.data.sources import problem

        for volume in spec.volumes:
            if volume.kind == "named":
                problems.append(f"named volume `{volume.source}` at {volume.path} is not supported on cluster "
                                f"{self.cluster.name} (an SSH host); use an instance path (`/host/path:{volume.path}`).")
            elif volume.kind != "bind" and (sentence := problem(volume, self.cluster.name)):
                problems.append(sentence)
        return problems

    def warnings(self, spec: "RunSpec") -> list[str]:
        notes = super().warnings(spec)
        if spec.image:
            return [f"`image` is ignored on cluster {self.cluster.name} (runtime: process); "
                    "set `runtime: docker` on the cluster to run in containers.", *notes]
        return notes

    def prepare(self, ctx: RunContext) -> None:
        from core.data.sources import copied_mount

        ctx.provision(f"connecting to {self.target.label}")
        run_dir = self._dir(ctx)
        exports = [_remote_path(run_dir, v.path) for v in ctx.spec.volumes if v.kind == "export"]
        jupyter = bool(ctx.spec.interactive and ctx.spec.interactive.jupyter)
        check = f"; command -v {q(self.jupyter_command)} >/dev/null 2>&1 && echo jupyter" if jupyter else ""
        if not (ctx.spec.volumes or jupyter):
            return  # the launch makes the run folder; nothing to copy or mount before it
        code, out, err = self._run(f"mkdir -p {q(run_dir)}/work {' '.join(q(p) for p in exports)}{check}; true",
                                   deadline=30.0)
        if isinstance(self._sftp(deadline=30.0), ExecFiles):
            ctx.provision(f"{self.target.hostname} has no SFTP subsystem: the run's log and files are read and "
                          "copied over exec channels (tail, cat, tar) instead")
        for volume in ctx.spec.volumes:
            if ctx.stop_requested.is_set():
                return
            if volume.kind == "import" or copied_mount(volume):
                self._import(ctx, run_dir, volume)
            elif volume.kind in ("mount", "bind"):
                self._mount(ctx, run_dir, volume)
        if jupyter:
            if "jupyter" not in out:
                ctx.provision(f"Jupyter is not installed on {self.target.hostname}; the run starts without it "
                              "(install jupyterlab there, or set the cluster's jupyter_command, to get a notebook).")

    def _import(self, ctx: RunContext, run_dir: str, volume: Any) -> None:
        """Fetch the import on this machine (core.data), then upload it to the host."""
        from core.data import imports

        dest = _remote_path(run_dir, volume.path)
        base = Path(ctx.spec.source_file).parent if ctx.spec.source_file else None
        with imports.staged(volume, ctx.provision, base) as local:
            if local is None:
                return
            ctx.provision(f"uploading {volume.source} to {dest} on {self.target.hostname}")
            _upload(self._sftp(deadline=30.0), local, dest)

    def _mount(self, ctx: RunContext, run_dir: str, volume: Any) -> None:
        """Mount on the host with the same script local runs use: a link, a read-only bind mount
        or NFS; the host's refusal is the run's one-sentence failure."""
        from core.data import mounts, sources

        uri = volume.source if volume.kind == "mount" else f"hostpath://{volume.source}"
        target = _remote_path(run_dir, volume.path)
        script = mounts.mount_script(sources.parse(uri), target, volume.readonly, volume.optional, self.cluster.name)
        code, out, err = self._run(script, deadline=60.0, timeout=120)
        if code != 0:
            raise BackendError((err or out).strip().splitlines()[-1] if (err or out).strip()
                               else f"mounting {volume.source} on {self.target.hostname} failed (exit {code}).")
        if out.strip() == "skipped":
            ctx.provision(f"optional mount {uri} does not exist on {self.target.hostname}; {volume.path} left out")
            return
        ctx.provision(f"mounted {uri} at {target} on {self.target.hostname}"
                      f"{' (read-only)' if volume.readonly else ''}")

    def _unmount(self, ctx: RunContext, run_dir: str) -> None:
        from core.data import mounts

        targets = [_remote_path(run_dir, v.path) for v in ctx.spec.volumes if v.kind in ("mount", "bind")]
        if targets:
            self._run(mounts.unmount_script(targets), deadline=30.0)

    def _env(self, ctx: RunContext, run_dir: str, jupyter_token: str | None) -> dict[str, str]:
        import os

        env: dict[str, str] = {}
        for var in ctx.spec.env:
            if var.value is not None:
                env[var.name] = var.value
            elif var.from_client_env and var.name in os.environ:
                env[var.name] = os.environ[var.name]
        env.update(VESSL_TUI_RUN_ID=ctx.run_id, VESSL_TUI_RUN_DIR=run_dir, **gpu_env(ctx))
        if jupyter_token:
            env["JUPYTER_TOKEN"] = jupyter_token
        return env

    def start(self, ctx: RunContext) -> dict[str, Any]:
        run_dir = self._dir(ctx)
        jupyter = bool(ctx.spec.interactive and ctx.spec.interactive.jupyter)
        token, port = None, self.jupyter_port
        if jupyter:
            from core.jupyter import jupyter_token

            token = jupyter_token(ctx.run_id)
            port = self._claim_jupyter_port(run_dir)
            ctx.provision(f"Jupyter will listen on 127.0.0.1:{port} of {self.target.hostname}")
        offset = ctx.log_path.stat().st_size if ctx.log_path.exists() else 0  # where this attempt's log starts
        script = launch_script(run_dir, self._env(ctx, run_dir, token),
                               run_script(ctx.spec, jupyter, port, self.jupyter_command)) + follow_script(offset)
        live, out, err = self._launch(script)
        printed = [field.decode(errors="replace") for field in live.header] if live else []
        pid = printed[0] if printed else ""
        if live is None or not pid.isdigit() or len(printed) != 2:
            detail = (err or out).decode(errors="replace").strip().splitlines()
            if live is not None:
                live.close()
            raise BackendError(f"could not start the run on {self.target.hostname}: "
                               f"{detail[-1] if detail else 'the launch printed no pid'}.")
        handle: dict[str, Any] = {"host": self.target.label, "dir": printed[1], "pid": int(pid)}
        self._live[handle["dir"]] = (offset, live)
        if jupyter:
            handle["jupyter_port"] = port
        return handle

    def _launch(self, script: str) -> tuple[LiveLog | None, bytes, bytes]:
        """Run the launch script on a session that stays open as the run's live log
        (`core.backends.ssh_live`): through the host's warm OpenSSH master (`core.sshmux`) when
        there is one, else on a paramiko exec channel (opening it retried while the link is down)."""
        if sshmux.has_master(self.target) or sshmux.ensure_master(self.target):
            session = sshmux.session(self.target, "sh -s")
            try:
                session.sendall(script.encode())
                session.shutdown_write()
                live, out, err = LiveLog.open(session, session.alive)
            except OSError:
                session.close()
                live, out, err = None, b"", b""
            if live is not None or session.exit_status() != 255:
                return live, out, err
            # 255: ssh itself failed (the master went away, the link dropped): paramiko says why
        conn = _pool_get(self.target)
        end = time.monotonic() + 30.0
        while True:
            try:
                conn.ensure(deadline=max(0.0, end - time.monotonic()))
                channel = conn.exec_channel("sh -s")
                break
            except SshError as exc:
                if not exc.retryable or time.monotonic() >= end:
                    raise
                time.sleep(0.2)
        try:
            channel.sendall(script.encode())
            channel.shutdown_write()
            return LiveLog.open(channel, conn.is_alive)
        except LINK_ERRORS as exc:
            channel.close()
            raise BackendError(f"could not start the run on {self.target.hostname}: the link dropped ({exc}).") from None

    @property
    def jupyter_port(self) -> int:
        """The first port Jupyter may take on the host."""
        return int(self.cluster.options.get("jupyter_port") or JUPYTER_PORT)

    @property
    def jupyter_command(self) -> str:
        return str(self.cluster.options.get("jupyter_command") or "jupyter")

    def _claim_jupyter_port(self, run_dir: str) -> int:
        """The port this run's Jupyter takes, claimed in its run folder (the first port from
        `jupyter_port` that is free and no live run claims); `jupyter_port` itself when the host
        has no python3 to look."""
        code, out, _ = self._run(f"python3 - {q(run_dir)} {self.jupyter_port}", stdin=JUPYTER_PORT_CLAIM.encode(),
                                 deadline=30.0)
        found = out.strip().splitlines()
        return int(found[-1]) if code == 0 and found and found[-1].isdigit() else self.jupyter_port

    def attach(self, ctx: RunContext, handle: dict[str, Any]) -> bool:
        code, out, _ = self._run(status_command(handle["dir"], handle["pid"]), deadline=30.0)
        return out.strip() != "gone"

    def _status(self, handle: dict[str, Any], deadline: float) -> ExitInfo | None:
        """The exit once written, else None while the wrapper lives; read over SFTP (the exit code
        file, then /proc/PID/stat), falling back to a shell check where /proc is absent."""
        end = time.monotonic() + deadline
        while True:
            try:
                sftp = self._sftp(deadline=max(0.0, end - time.monotonic()))
                written = _read_at(sftp, f"{handle['dir']}/exit_code", 0)
                if written.strip():
                    return _exit_info(written.decode())
                proc = _read_at(sftp, f"/proc/{int(handle['pid'])}/stat", 0, missing=None)
                if proc is None:
                    return _exit_info(self._run(status_command(handle["dir"], handle["pid"]), deadline=deadline)[1])
                if proc and proc.rsplit(b")", 1)[-1].split()[:1] not in ([b"Z"], [b"X"]):
                    return None
                written = _read_at(sftp, f"{handle['dir']}/exit_code", 0)  # it may have just ended
                return _exit_info(written.decode() if written.strip() else "gone")
            except LINK_ERRORS as exc:
                self._forget_sftp()
                if isinstance(exc, SshError) and not exc.retryable:
                    raise  # a changed host key, a refused login: final, said as it is
                if time.monotonic() >= end:
                    raise SshError(f"lost the connection to {self.target.label} and could not get it back.",
                                   retryable=True) from None
                time.sleep(0.2)

    def stream(self, ctx: RunContext, handle: dict[str, Any], offset: int) -> Iterator[bytes]:
        """The log from `offset`: from the launch channel while it lives, else over SFTP."""
        started, live = self._live.get(handle["dir"], (None, None))
        if live is None or started != offset:
            yield from self._follow(handle, "log", offset)
            return
        for chunk in live.chunks():
            offset += len(chunk)
            yield chunk
        if live.exit_text is None:  # the link broke, or the host's tail cannot follow: go on over SFTP
            self._live.pop(handle["dir"], None)
            yield from self._follow(handle, "log", offset)

    def stream_reported(self, ctx: RunContext, handle: dict[str, Any], offset: int) -> Iterator[bytes]:
        """The file the run writes at $VESSL_TUI_METRICS (in its remote folder), as it grows: on a
        session through the host's warm master while the run's launch channel lives, else over SFTP."""
        if handle["dir"] in self._live and sshmux.has_master(self.target):
            session = sshmux.session(self.target, file_follow_command(handle["dir"], REPORTED, offset, handle["pid"]))
            follower = FileFollower(session)
            for chunk in follower:
                offset += len(chunk)
                yield chunk
            if follower.done:
                return
        yield from self._follow(handle, REPORTED, offset)

    def _follow(self, handle: dict[str, Any], name: str, offset: int) -> Iterator[bytes]:
        """The bytes of the run folder's file `name` after `offset`, over SFTP, until the run ended
        and the file is drained (a missing file reads as empty)."""
        log = f"{handle['dir']}/{name}"
        idle = 0.05
        ended = False
        while True:
            try:
                data = _read_at(self._sftp(), log, offset)
            except LINK_ERRORS as exc:
                self._forget_sftp()
                if isinstance(exc, SshError) and not exc.retryable:
                    raise  # the host key changed, or the login is refused: nothing more will come
                time.sleep(0.2)
                continue
            if data:
                offset += len(data)
                idle = 0.05
                yield data
                continue
            if ended:
                self._forget_sftp()
                return
            if idle >= 0.4:  # quiet for a while: has the run ended? (then drain once more)
                try:
                    ended = self._status(handle, deadline=RECONNECT_DEADLINE_S) is not None
                except SshError:
                    pass
                if ended:
                    continue
            # idle until the next read, or until `wait` (the supervisor's) sees the end: drain once more
            ended = self._ended_event(handle).wait(idle)
            idle = min(idle * 2, 0.5)

    def wait(self, ctx: RunContext, handle: dict[str, Any], timeout: float) -> ExitInfo | None:
        _, live = self._live.get(handle["dir"], (None, None))
        if live is not None:  # the launch channel says when the run ended: no status reads
            if not live.ended.wait(timeout):
                if not live.link_alive():
                    live.close()  # a dead link: the stream goes on over SFTP, the status from reads
                return None
            if live.exit_text is not None:
                self._live.pop(handle["dir"], None)
                self._ended_event(handle).set()
                return _exit_info(live.exit_text)
        end = time.monotonic() + timeout
        while True:
            try:
                info = self._status(handle, deadline=max(0.0, end - time.monotonic()))
            except SshError as exc:
                if not exc.retryable:
                    raise
                info = None
            if info is not None:
                self._ended_event(handle).set()
                return info
            if time.monotonic() >= end:
                return info
            time.sleep(min(0.25, max(0.0, end - time.monotonic())))

    def stop(self, ctx: RunContext, handle: dict[str, Any], grace: float) -> None:
        """SIGTERM, SIGKILL after `grace`; a host that cannot be reached within the grace (at least
        STOP_REACH_S) is an SshError: the stop cannot be delivered."""
        self._run(stop_command(handle["pid"], grace), deadline=max(grace, STOP_REACH_S), timeout=grace + 30)

    def finish(self, ctx: RunContext, handle: dict[str, Any]) -> None:
        from core.data.exports import local_copy

        self._unmount(ctx, handle["dir"])
        exports = [v for v in ctx.spec.volumes if v.kind == "export"]
        if not exports or ctx.artifacts_dir is None:
            return
        sftp = self._sftp()
        for volume in exports:
            remote = _remote_path(handle["dir"], volume.path)
            local = local_copy(ctx.artifacts_dir, volume.path)
            ctx.provision(f"downloading {remote} from {self.target.hostname} to {local}")
            try:
                _download(sftp, remote, local)
            except FileNotFoundError:
                ctx.provision(f"export {volume.path} was not written by the run; nothing to download")

    def cleanup(self, ctx: RunContext, handle: dict[str, Any] | None) -> None:
        run_dir = self._dir(ctx, handle)
        if handle and handle.get("pid"):
            self._run(stop_command(handle["pid"], 0), deadline=30.0)
        self._unmount(ctx, run_dir)
        self._run(f"rm -rf {q(run_dir)}", deadline=30.0)

    # --- capabilities ----------------------------------------------------------------------------

    def port_target(self, ctx: RunContext, handle: dict[str, Any], container_port: int) -> tuple[str, int]:
        return ("127.0.0.1", container_port)

    def needs_tunnel(self) -> bool:
        return True

    def shell_argv(self, ctx: RunContext, handle: dict[str, Any]) -> list[str]:
        workdir = f"{self._dir(ctx, handle)}/work"
        return ssh_argv(self.target, f"cd {q(workdir)} && exec \"${{SHELL:-sh}}\" -l")

    def shell_command(self, ctx: RunContext, handle: dict[str, Any], env: dict[str, str]) -> tuple[list[str], dict[str, str]]:
        """The login shell on the host, with `env` exported before it (no secrets in `env`)."""
        import os

        argv = self.shell_argv(ctx, handle)
        exports = "".join(f"export {name}={q(value)}; " for name, value in env.items())
        return argv[:-1] + [exports + argv[-1]], dict(os.environ)

    def sample(self, ctx: RunContext, handle: dict[str, Any]) -> dict[str, float]:
        _, out, _ = self._run(f"ps -o pcpu=,rss= --sid {int(handle['pid'])}", deadline=10.0)
        cpu = mem = 0.0
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 2:
                cpu += float(parts[0])
                mem += float(parts[1]) * 1024
        return {"cpu_percent": cpu, "memory_bytes": mem}

    def host_key_status(self) -> tuple[str, str, str]:
        return host_key_status(self.target)

    def trust_host_key(self) -> str:
        return trust_host_key(self.target)


class SshDockerBackend(SshBackend):
    """`runtime: docker`: the Docker backend on the host's engine over ssh://; host keys checked here."""

    def __init__(self, cluster: "ClusterConfig"):
        super().__init__(cluster)
        from core.backends.docker import DockerBackend

        t = self.target
        self.docker = DockerBackend(cluster.model_copy(update={"kind": "docker", "host": f"ssh://{t.user}@{t.hostname}:{t.port}"}))
        self.writes_log_directly = self.docker.writes_log_directly

    def check(self) -> ClusterCheck:
        state, kind, fp = ("known", "", "")
        try:
            state, kind, fp = host_key_status(self.target)
        except SshError as exc:
            return ClusterCheck(False, str(exc))
        if state != "known":
            return ClusterCheck(False, f"the host key of {self.target.hostname} is {state} ({kind} {fp}); "
                                       f"run `vessl-tui clusters trust {self.cluster.name}` if it is right.")
        return self.docker.check()

    def reach(self) -> ClusterCheck:
        return self.check()

    def validate(self, spec: "RunSpec") -> list[str]:
        return self.docker.validate(spec)

    def warnings(self, spec: "RunSpec") -> list[str]:
        return self.docker.warnings(spec)

    def prepare(self, ctx: RunContext) -> None:
        self.docker.prepare(ctx)

    def start(self, ctx: RunContext) -> dict[str, Any]:
        return self.docker.start(ctx)

    def attach(self, ctx: RunContext, handle: dict[str, Any]) -> bool:
        return self.docker.attach(ctx, handle)

    def stream(self, ctx: RunContext, handle: dict[str, Any], offset: int) -> Iterator[bytes]:
        return self.docker.stream(ctx, handle, offset)

    def stream_reported(self, ctx: RunContext, handle: dict[str, Any], offset: int) -> Iterator[bytes]:
        return self.docker.stream_reported(ctx, handle, offset)

    def wait(self, ctx: RunContext, handle: dict[str, Any], timeout: float) -> ExitInfo | None:
        return self.docker.wait(ctx, handle, timeout)

    def stop(self, ctx: RunContext, handle: dict[str, Any], grace: float) -> None:
        self.docker.stop(ctx, handle, grace)

    def finish(self, ctx: RunContext, handle: dict[str, Any]) -> None:
        self.docker.finish(ctx, handle)

    def cleanup(self, ctx: RunContext, handle: dict[str, Any] | None) -> None:
        self.docker.cleanup(ctx, handle)

    def port_target(self, ctx: RunContext, handle: dict[str, Any], container_port: int) -> tuple[str, int]:
        return self.docker.port_target(ctx, handle, container_port)

    def sample(self, ctx: RunContext, handle: dict[str, Any]) -> dict[str, float]:
        return self.docker.sample(ctx, handle)

    def shell_argv(self, ctx: RunContext, handle: dict[str, Any]) -> list[str]:
        return self.docker.shell_argv(ctx, handle)

    def shell_command(self, ctx: RunContext, handle: dict[str, Any], env: dict[str, str]) -> tuple[list[str], dict[str, str]]:
        return self.docker.shell_command(ctx, handle, env)


# --- transfers -----------------------------------------------------------------------------------


def _remote_path(run_dir: str, path: str) -> str:
    """A run path on the host: absolute as given, relative under the run's `work/` folder."""
    return path if path.startswith("/") else str(PurePosixPath(run_dir) / "work" / path)
