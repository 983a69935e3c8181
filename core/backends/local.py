"""The local backend: a run's commands as processes on this machine, in a process group of their own.

Each attempt writes a script (`attempt-N.sh`: every command by `bash -c` in its workdir, `wait`
entries as `sleep`) and starts it under a tiny bash wrapper in a new session:

    wrapper (session leader) ── bash attempt-N.sh (own process group: what `stop` signals)
      records the script's pid in attempt-N.pid and, when it ends, its status in attempt-N.exit

The work's stdout and stderr are the run's output log itself (O_APPEND), so the supervisor may die
at any moment without losing a line, and any supervisor can learn the exit status later from the
exit file. Paths of the spec (workdirs, volume paths) live under the run's work folder
(`runs/<id>/work/`); an absolute `/code` means `work/code`.
"""

from __future__ import annotations

import os
import select
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from core.backends.base import (
    Backend,
    BackendError,
    Capacity,
    ClusterCheck,
    ExitInfo,
    PortAccess,
    RunContext,
    RunMetrics,
    ShellAccess,
    gpu_env,
)
from core.curves.files import REPORTED

if TYPE_CHECKING:
    from core.spec.runspec import RunSpec, Volume

WRAPPER = (
    'set -m\n'  # job control: the script gets a process group of its own
    'exec 3>&2 2>/dev/null\n'  # the wrapper's own job notices ("Terminated") stay out of the log
    'bash "$1" </dev/null 2>&3 3>&- &\n'
    'echo $! > "$2.tmp" && mv "$2.tmp" "$2"\n'
    'wait $!\n'
    'echo $? > "$3.tmp" && mv "$3.tmp" "$3"\n'
    'exit 0\n'  # a builtin last, so that bash does not exec `mv` in place of the wrapper (its pid
)               # would lose the marker while the exit file is not yet in place)
#: WRAPPER for a run with secrets: the script's output goes through `core/logmask.py` by a FIFO;
#: the filter has a process group of its own (a stop does not cut it short), its pid goes to
#: "$4.mask", and it ends when the last writer is gone (`finish` waits for that). $4: the FIFO,
#: $5: python, $6: logmask.py, $7…: the names of the secret variables (values: the environment only).
MASKED_WRAPPER = (
    'set -m\n'
    'exec 3>&2 2>/dev/null\n'
    'rm -f "$4"; mkfifo -m 600 "$4" || exit 1\n'
    '"$5" -I -S "$6" "${@:7}" <"$4" 2>&3 3>&- &\n'
    'echo $! > "$4.mask"\n'
    'bash "$1" </dev/null >"$4" 2>&1 3>&- &\n'
    'echo $! > "$2.tmp" && mv "$2.tmp" "$2"\n'
    'wait $!\n'
    'echo $? > "$3.tmp" && mv "$3.tmp" "$3"\n'
    'exit 0\n'
)
#: How long `finish` waits for the masking filter to write the last output once the work is gone.
MASK_DRAIN_SECONDS = 10.0
def work_dir(run_dir: Path) -> Path:
    return run_dir / "work"


def inside(work: Path, path: str | None) -> Path:
    """Where a spec path lands on this machine: under the run's work folder."""
    if not path:
        return work
    pure = PurePosixPath(path)
    if pure.is_absolute():
        pure = pure.relative_to("/")
    if ".." in pure.parts:
        raise BackendError(f"path `{path}` leaves the run's folder; use a path without `..`.")
    return work / pure


# --- process state, readable by any client (no supervisor needed) ------------------------------


def process_alive(pid: int | None, marker: str | None = None) -> bool:
    """True when `pid` runs (not a zombie) and, when `marker` is given, its command line contains it
    (so a recycled pid does not count)."""
    if not pid or pid <= 0:
        return False
    proc = Path(f"/proc/{pid}")
    if proc.parent.exists() and Path("/proc/self").exists():
        try:
            stat = (proc / "stat").read_text()
            if stat.rsplit(")", 1)[1].split()[0] in ("Z", "X"):
                return False
            if marker is not None:
                return marker.encode() in (proc / "cmdline").read_bytes()
            return True
        except (FileNotFoundError, ProcessLookupError, IndexError, PermissionError):
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_exit(handle: dict[str, Any]) -> int | None:
    """The exit status the wrapper recorded, or None while the work runs (or if none was written).
    A status still in the `.tmp` file (written, not yet renamed) counts."""
    exit_file = Path(handle["exit_file"])
    for path in (exit_file, exit_file.with_name(exit_file.name + ".tmp")):
        try:
            return int(path.read_text().strip())
        except (FileNotFoundError, ValueError):
            continue
    return None


def exit_info(code: int) -> ExitInfo:
    if code > 128:
        try:
            name = signal.Signals(code - 128).name
        except ValueError:
            name = f"signal {code - 128}"
        return ExitInfo(code, f"killed by {name}")
    return ExitInfo(code, None if code == 0 else f"exit code {code}")


def work_state(handle: dict[str, Any]) -> tuple[str, int | None]:
    """("exited", code) when an exit status was recorded, ("running", None) while the wrapper or the
    work's process group lives, else ("gone", None)."""
    code = read_exit(handle)
    if code is not None:
        return "exited", code
    if process_alive(handle.get("wrapper_pid"), handle.get("marker")) or _group_alive(handle):
        code = read_exit(handle)
        return ("exited", code) if code is not None else ("running", None)
    code = read_exit(handle)
    return ("exited", code) if code is not None else ("gone", None)


def _group_members(pgid: int, sid: int | None = None) -> Iterator[tuple[int, list[str]]]:
    """(pid, /proc stat fields after the command name) of each live process in group `pgid` (and
    session `sid` when given: a recycled group number in another session is not ours)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X") and (sid is None or int(fields[3]) == sid):
            yield int(entry.name), fields


def _group_alive(handle: dict[str, Any] | None) -> bool:
    """True while a process of the run's process group lives (zombies, which an init that does not
    reap leaves behind, do not count)."""
    pgid = (handle or {}).get("pgid")
    if not pgid:
        return False
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    if not Path("/proc/self/stat").exists():
        return True
    return next(_group_members(pgid, handle.get("wrapper_pid")), None) is not None


def _pidfd(pid: int) -> int | None:
    """A descriptor that becomes readable when `pid` exits (Linux 5.3+), else None."""
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


def _signal_group(handle: dict[str, Any], sig: int) -> None:
    if not _group_alive(handle):
        return
    try:
        os.killpg(handle["pgid"], sig)
    except ProcessLookupError:
        pass


def _drain_mask(ctx: RunContext, handle: dict[str, Any]) -> None:
    """Wait until the masking filter has written the work's last output (it exits when the last
    writer is gone); one still there after MASK_DRAIN_SECONDS (a daemon the work left in another
    group holds the pipe) is ended."""
    pid = handle.get("mask_pid")
    deadline = time.monotonic() + MASK_DRAIN_SECONDS
    while process_alive(pid, "logmask"):
        if time.monotonic() > deadline:
            ctx.provision(f"output of processes the run left behind is no longer logged (pid {pid})")
            os.kill(pid, signal.SIGKILL)  # type: ignore[arg-type]
            return
        time.sleep(0.02)


class LocalBackend(Backend, PortAccess, ShellAccess, RunMetrics):
    """Runs on this machine as processes. Capacity: CPUs, memory, GPUs via NVML when present."""

    kind = "local"
    writes_log_directly = True

    # --- cluster ------------------------------------------------------------------------------

    def check(self) -> ClusterCheck:
        return ClusterCheck(True, "processes on this machine", self.capacity())

    def capacity(self) -> Capacity:
        try:
            memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
        except (ValueError, OSError):
            memory_gb = None
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        return Capacity(cpus=float(cpus or 1), memory_gb=memory_gb, gpus=self._gpus())

    def _gpus(self) -> list[dict[str, Any]]:
        from core.metrics import HostGpus, gpu_offers, local_gpus

        if self.cluster.gpus is not None:
            return gpu_offers(HostGpus(host=self.cluster.name), self.cluster.gpus)
        return gpu_offers(local_gpus())

    # --- spec ---------------------------------------------------------------------------------

    def validate(self, spec: "RunSpec") -> list[str]:
        problems = []
        for volume in spec.volumes:
            problem = self._volume_problem(volume)
            if problem:
                problems.append(problem)
        if not spec.commands:
            problems.append("the spec has no commands to run; add `run` (VESSL) or `commands` (dstack).")
        return problems

    def _volume_problem(self, volume: "Volume") -> str | None:
        from core.data.sources import problem

        if volume.kind in ("named", "bind"):
            if volume.kind == "named":
                return f"named volume `{volume.source}` is not supported on cluster {self.cluster.name}; use a host path."
            return None
        return problem(volume, self.cluster.name)

    def warnings(self, spec: "RunSpec") -> list[str]:
        notes = []
        if spec.image:
            notes.append(f"image `{spec.image}` does not apply to local processes: commands run on this machine.")
        if spec.python:
            notes.append(f"python `{spec.python}` does not apply to local processes: the machine's python is used.")
        return notes + super().warnings(spec)

    # --- lifecycle ----------------------------------------------------------------------------

    def prepare(self, ctx: RunContext) -> None:
        work = work_dir(ctx.run_dir)
        work.mkdir(parents=True, exist_ok=True)
        for note in self.warnings(ctx.spec):
            ctx.provision(note)
        base = Path(ctx.spec.source_file).parent if ctx.spec.source_file else None
        from core.data import imports, sources

        for volume in ctx.spec.volumes:
            if ctx.stop_requested.is_set():
                return
            target = inside(work, volume.path)
            if volume.kind == "import" or sources.copied_mount(volume):
                if target.exists() and (not target.is_dir() or any(target.iterdir())):
                    ctx.provision(f"import {volume.source} already at {volume.path}")
                    continue
                imports.fetch(volume, target, ctx.provision, base)
            elif volume.kind in ("mount", "bind"):
                self._mount(ctx, volume, target, base)

    def _mount(self, ctx: RunContext, volume: "Volume", target: Path, base: Path | None) -> None:
        from core.data import mounts, sources

        source = sources.parse(volume.source if volume.kind == "mount" else f"hostpath://{volume.source}", base=base)
        script = mounts.mount_script(source, str(target), volume.readonly, volume.optional, self.cluster.name)
        done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, stdin=subprocess.DEVNULL,
                              timeout=120)
        if done.returncode != 0:
            raise BackendError((done.stderr.strip().splitlines() or [f"mounting {volume.source} failed"])[-1])
        if done.stdout.strip() == "skipped":
            ctx.provision(f"optional mount {source.location} does not exist; {volume.path} left out")
            return
        ctx.provision(f"mounted {source.location} at {volume.path}{' (read-only)' if volume.readonly else ''}")

    def _unmount(self, ctx: RunContext, work: Path) -> None:
        from core.data import mounts

        targets = [str(inside(work, v.path)) for v in ctx.spec.volumes if v.kind in ("mount", "bind")]
        if targets:
            subprocess.run(["bash", "-c", mounts.unmount_script(targets)], capture_output=True,
                           stdin=subprocess.DEVNULL, timeout=60)

    def script(self, ctx: RunContext, jupyter_port: int | None = None) -> str:
        """The bash script of one attempt: each command by `bash -c` in its workdir, in order; with
        `jupyter_port`, Jupyter first, in the background, stopped when the script ends."""
        work = work_dir(ctx.run_dir)
        lines = [f"# run {ctx.run_id}, attempt {ctx.attempt}", "set -e"]
        if jupyter_port is not None:
            from core.jupyter import launch_line

            idle = ctx.spec.interactive.idle_timeout if ctx.spec.interactive else None
            command = str(self.cluster.options.get("jupyter_command") or "jupyter")
            lines.append(launch_line(command, jupyter_port, idle, shlex.quote(str(ctx.run_dir / "jupyter.log"))))
            lines.append("JUPYTER_PID=$!; trap 'kill $JUPYTER_PID 2>/dev/null' EXIT")
        default = ctx.spec.working_dir
        for command in ctx.spec.commands:
            if command.wait:
                lines.append(f"sleep {command.wait:g}")
            if command.command:
                folder = inside(work, command.workdir or default)
                lines.append(f"mkdir -p {shlex.quote(str(folder))} && cd {shlex.quote(str(folder))}")
                lines.append(f"bash -c {shlex.quote(command.command)}")
        return "\n".join(lines) + "\n"

    def environment(self, ctx: RunContext) -> dict[str, str]:
        env = dict(os.environ)
        for var in ctx.spec.env:
            if var.value is not None:
                env[var.name] = var.value
        env["VESSL_TUI_RUN_ID"] = ctx.run_id
        env["VESSL_TUI_ATTEMPT"] = str(ctx.attempt)
        env["VESSL_TUI_METRICS"] = str(ctx.run_dir / REPORTED)
        env.update(gpu_env(ctx))
        return env

    def _jupyter_port(self, ctx: RunContext) -> int | None:
        """A free port on 127.0.0.1 for the run's Jupyter (from the cluster's `options.jupyter_port`,
        default 8888), or None when the spec asks for none."""
        if not (ctx.spec.interactive and ctx.spec.interactive.jupyter):
            return None
        import socket

        from core.jupyter import JUPYTER_PORT

        port = int(self.cluster.options.get("jupyter_port") or JUPYTER_PORT)
        for candidate in range(port, port + 100):
            with socket.socket() as probe:
                try:
                    probe.bind(("127.0.0.1", candidate))
                except OSError:
                    continue
                return candidate
        raise BackendError(f"no free port for Jupyter in {port}..{port + 99} on this machine.")

    def start(self, ctx: RunContext) -> dict[str, Any]:
        prefix = ctx.run_dir / f"attempt-{ctx.attempt}"
        script, pid_file, exit_file = (prefix.with_suffix(s) for s in (".sh", ".pid", ".exit"))
        jupyter_port = self._jupyter_port(ctx)
        env = self.environment(ctx)
        if jupyter_port is not None:
            from core.jupyter import jupyter_token

            env["JUPYTER_TOKEN"] = jupyter_token(ctx.run_id)  # the environment only: never argv or a file
            ctx.provision(f"Jupyter will listen on 127.0.0.1:{jupyter_port}")
        script.write_text(self.script(ctx, jupyter_port))
        for stale in (pid_file, exit_file):
            stale.unlink(missing_ok=True)
        log_fd = os.open(ctx.log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        marker = f"vessl-tui-run={ctx.run_id}"
        argv = ["bash", "-c", WRAPPER, marker, str(script), str(pid_file), str(exit_file)]
        secrets = [v.name for v in ctx.spec.env if (v.secret or v.secret_ref) and v.value]
        if secrets:  # what the run prints of them is masked before it reaches the log
            import core.logmask

            argv[2] = MASKED_WRAPPER
            argv += [str(prefix.with_suffix(".fifo")), sys.executable, core.logmask.__file__, *secrets]
        try:
            wrapper = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log_fd,
                stderr=log_fd,
                cwd=work_dir(ctx.run_dir),
                env=env,
                start_new_session=True,
            )
        finally:
            os.close(log_fd)
        self._child = wrapper  # keeps the Popen so that its exit is reaped
        self._watch(wrapper.pid)  # not reaped yet: the pid is surely the wrapper's
        while not pid_file.exists():
            if wrapper.poll() is not None and not pid_file.exists():
                raise BackendError(f"the run's processes did not start (wrapper exit {wrapper.returncode}).")
            time.sleep(0.002)
        pid = int(pid_file.read_text())
        masked = {"mask_pid": int(Path(argv[7] + ".mask").read_text())} if secrets else {}
        return masked | ({"jupyter_port": jupyter_port} if jupyter_port is not None else {}) | {
            "backend": "local",
            "wrapper_pid": wrapper.pid,
            "pid": pid,
            "pgid": pid,
            "marker": marker,
            "exit_file": str(exit_file),
            "work_dir": str(work_dir(ctx.run_dir)),
        }

    def attach(self, ctx: RunContext, handle: dict[str, Any]) -> bool:
        if process_alive(handle.get("wrapper_pid"), handle.get("marker")):
            self._watch(handle["wrapper_pid"])
        return work_state(handle)[0] != "gone"

    def _watch(self, wrapper_pid: int) -> None:
        """Let `wait` wake as soon as the wrapper exits (it has written the exit status by then)."""
        self._unwatch()
        self._exit_fd = _pidfd(wrapper_pid)

    def _unwatch(self) -> None:
        if getattr(self, "_exit_fd", None) is not None:
            os.close(self._exit_fd)
        self._exit_fd = None

    def _pause(self, remaining: float) -> None:
        """Sleep until the wrapper exits or `remaining` seconds pass; without a pidfd, poll."""
        fd = getattr(self, "_exit_fd", None)
        if fd is None:
            time.sleep(min(0.05, remaining))
        elif select.select([fd], [], [], remaining)[0]:
            self._unwatch()  # readable from now on: poll from here

    def wait(self, ctx: RunContext, handle: dict[str, Any], timeout: float) -> ExitInfo | None:
        deadline = time.monotonic() + timeout
        while True:
            child = getattr(self, "_child", None)
            if child is not None:
                child.poll()
            state, code = work_state(handle)
            if state == "exited":
                return exit_info(code)  # type: ignore[arg-type]
            if state == "gone":
                ctx.provision(f"no exit status in {handle['exit_file']}; wrapper {handle.get('wrapper_pid')} "
                              f"and process group {handle.get('pgid')} are gone")
                return ExitInfo(None, "the run's processes vanished without recording an exit status")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            self._pause(remaining)

    def stop(self, ctx: RunContext, handle: dict[str, Any], grace: float) -> None:
        _signal_group(handle, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while _group_alive(handle) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _group_alive(handle):
            ctx.provision(f"still running {grace:g}s after SIGTERM: sending SIGKILL")
            _signal_group(handle, signal.SIGKILL)

    def finish(self, ctx: RunContext, handle: dict[str, Any]) -> None:
        if _group_alive(handle):  # processes the commands left in the background
            ctx.provision("stopping processes the commands left running")
            self.stop(ctx, handle, ctx.spec.grace_seconds)
        _drain_mask(ctx, handle)
        from core.data.exports import local_copy

        work = Path(handle.get("work_dir") or work_dir(ctx.run_dir))
        self._unmount(ctx, work)
        for volume in ctx.spec.volumes:
            if volume.kind != "export":
                continue
            source = inside(work, volume.path)
            if not source.exists():
                ctx.provision(f"export {volume.path}: nothing there to copy")
                continue
            if ctx.artifacts_dir is None:
                continue
            dest = local_copy(ctx.artifacts_dir, volume.path)
            dest.parent.mkdir(parents=True, exist_ok=True)
            if source.is_dir():
                shutil.copytree(source, dest, symlinks=True, dirs_exist_ok=True)
            else:
                shutil.copy2(source, dest)
            ctx.provision(f"copied export {volume.path} to {dest}")

    def cleanup(self, ctx: RunContext, handle: dict[str, Any] | None) -> None:
        if handle:
            _signal_group(handle, signal.SIGKILL)
        self._unmount(ctx, Path((handle or {}).get("work_dir") or work_dir(ctx.run_dir)))

    # --- capabilities -------------------------------------------------------------------------

    def port_target(self, ctx: RunContext, handle: dict[str, Any], container_port: int) -> tuple[str, int]:
        return "127.0.0.1", container_port

    def shell_argv(self, ctx: RunContext, handle: dict[str, Any]) -> list[str]:
        folder = handle.get("work_dir") or str(work_dir(ctx.run_dir))
        return ["bash", "-c", f"cd {shlex.quote(folder)} && exec bash -i"]

    def sample(self, ctx: RunContext, handle: dict[str, Any]) -> dict[str, float]:
        """CPU seconds and resident memory of the run's process group (from /proc)."""
        ticks, page = os.sysconf("SC_CLK_TCK"), os.sysconf("SC_PAGE_SIZE")
        cpu = rss = 0.0
        for _pid, fields in _group_members(handle["pgid"], handle.get("wrapper_pid")):
            cpu += (int(fields[11]) + int(fields[12])) / ticks
            rss += int(fields[21]) * page
        return {"cpu_seconds": cpu, "memory_bytes": rss}
