"""The supervisor server: a pre-imported process that forks run supervisors in a few milliseconds.

    start_supervisor(run_id, payload, env, cwd, log_path) -> int | None   # the client side
    launch(env)                        # start a server (a supervisor does, once its run's work runs)
    python -m core.supervisor_server   # the server

Starting a supervisor as a new Python process costs its imports (pydantic and the spec models:
most of half a second). The server has imported them once; for each run it forks a child that
leaves the server's session (`setsid`; the server ignores SIGCHLD, so none is left to reap), takes
the client's environment and working folder, writes its output to the run's provisioning log and
becomes the run's supervisor (`core.supervisor.main`). Runs never depend on the server: it only
starts supervisors, which are detached like any other. When no server answers, the engine starts
the supervisor the plain way and that supervisor launches a server once its run's work is running
(so the server's imports never compete with a run's start).

One server per user, Python interpreter, package folder and PYTHONPATH, reached on a Linux abstract unix
socket; both ends check with SO_PEERCRED that the other is the same user, so no one else can ask
for a supervisor or read the secrets a request carries (they go over the socket only: never argv,
a file or the server's memory, since the forked child reads the request). The server exits after
`IDLE_SECONDS` without a request, or as soon as a source file it imported has changed (a request
then gets "stale"). Anything that goes wrong on the client side returns None, and the engine falls
back to starting the supervisor as a plain process.
Set VESSL_TUI_SUPERVISOR_SERVER=0 to never use the server, VESSL_TUI_SUPERVISOR_IDLE=SECONDS to
change how long it waits for work.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import struct
import sys
from collections.abc import Mapping
from pathlib import Path

TYPE_CHECKING = False  # typing and subprocess stay out of a client's `vessl-tui run`
if TYPE_CHECKING:
    import subprocess
    from typing import Any

#: Seconds without a request before the server exits (VESSL_TUI_SUPERVISOR_IDLE overrides).
IDLE_SECONDS = float(os.environ.get("VESSL_TUI_SUPERVISOR_IDLE") or 600.0)
#: How long a client waits for the server's answer (a server still importing holds the request).
REPLY_TIMEOUT = 20.0
PACKAGE_ROOT = Path(__file__).resolve().parent.parent
#: What the server imports before it serves: what every supervisor needs, then what some do.
PRELOAD = ("core.supervisor", "core.store", "core.logs", "core.config", "core.spec.runspec", "core.backends.local",
           "core.engine", "core.handoff", "core.spec.loader", "core.spec.mapping", "core.resolve", "core.interactive",
           "core.gpu_ledger", "core.data.settings", "core.curves.recorder", "core.logmask")
PRELOAD_IF_PRESENT = ("core.backends.docker", "docker", "core.backends.ssh", "paramiko", "core.backends.slurm",
                      "core.resolve")
_UCRED = struct.Struct("3i")


def enabled() -> bool:
    return sys.platform.startswith("linux") and os.environ.get("VESSL_TUI_SUPERVISOR_SERVER", "1") != "0"


def address(env: Mapping[str, str] = os.environ) -> str:
    """The abstract socket name of this user's server for this interpreter, package folder and
    PYTHONPATH (a supervisor imports from where a new process started with `env` would)."""
    interpreter = f"{os.path.realpath(sys.executable)}\0{os.path.realpath(sys.prefix)}"  # one venv, however reached
    key = hashlib.sha256(f"{interpreter}\0{PACKAGE_ROOT}\0{env.get('PYTHONPATH', '')}".encode()).hexdigest()[:16]
    return f"\0vessl-tui-supervisors-{os.getuid()}-{key}"


def _same_user(sock: socket.socket) -> bool:
    _pid, uid, _gid = _UCRED.unpack(sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _UCRED.size))
    return uid == os.getuid()


# --- client -----------------------------------------------------------------------------------------


def start_supervisor(run_id: str, payload: dict[str, Any], env: dict[str, str], cwd: str, log_path: str) -> int | None:
    """Have the server fork the run's supervisor; its pid, or None when the server cannot be used
    (the caller then starts the supervisor itself: a duplicate loses the claim on the run)."""
    if not enabled():
        return None
    request = json.dumps({"run_id": run_id, "payload": payload, "env": env, "cwd": cwd, "log": log_path}).encode()
    sock = _connect(env)
    if sock is None:
        return None
    try:
        with sock:
            sock.settimeout(REPLY_TIMEOUT)
            if not _same_user(sock):
                return None
            sock.sendall(request)
            sock.shutdown(socket.SHUT_WR)
            reply = _read_line(sock).decode(errors="replace").split()
    except OSError:
        return None
    if reply[:1] == ["ok"] and len(reply) == 2 and reply[1].isdigit():
        return int(reply[1])
    return None  # "stale": that server has exited


def _read_all(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def _read_line(sock: socket.socket) -> bytes:
    data = b""
    while not data.endswith(b"\n") and (chunk := sock.recv(256)):
        data += chunk
    return data


def _connect(env: dict[str, str]) -> socket.socket | None:
    """A connection to the server, or None when none listens."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(address(env))
        return sock
    except OSError:
        sock.close()
    return None


def launch(env: Mapping[str, str]) -> None:
    """Start a server for `env` in a session of its own (it outlives this process; when one
    already listens, the new one exits at once)."""
    if not enabled():
        return
    import subprocess

    _launched[:] = [p for p in _launched if p.poll() is None]
    try:
        _launched.append(subprocess.Popen(
            [sys.executable, "-m", "core.supervisor_server"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=PACKAGE_ROOT,
            env=dict(env),
            start_new_session=True,
        ))
    except OSError:
        pass


_launched: list[subprocess.Popen] = []  # servers this process started (reaped once they exit)


# --- server -----------------------------------------------------------------------------------------


def _sources() -> dict[str, tuple[int, int]]:
    """(mtime, size) of every loaded module file of `core`: a change means new code."""
    out = {}
    root = str(PACKAGE_ROOT / "core") + os.sep
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None)
        if path and path.startswith(root):
            try:
                st = os.stat(path)
            except OSError:
                continue
            out[path] = (st.st_mtime_ns, st.st_size)
    return out


def _changed(sources: dict[str, tuple[int, int]]) -> bool:
    for path, signature in sources.items():
        try:
            st = os.stat(path)
        except OSError:
            return True
        if (st.st_mtime_ns, st.st_size) != signature:
            return True
    return False


def serve() -> int:
    """Listen (claiming the name first: a second server exits at once), import, then fork one
    supervisor per request until idle. Single-threaded: forking is safe."""
    import gc
    import importlib
    import signal

    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        listener.bind(address())
    except OSError:
        return 0  # another server has the name
    listener.listen(64)
    for name in PRELOAD:
        importlib.import_module(name)
    for name in PRELOAD_IF_PRESENT:
        try:
            importlib.import_module(name)
        except Exception:
            pass
    _warm()
    sources = _sources()
    gc.freeze()  # children then never touch (so never copy) the pages of what is already imported
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    listener.settimeout(IDLE_SECONDS)
    while True:
        try:
            conn, _ = listener.accept()
        except TimeoutError:
            return 0
        with conn:
            if not _same_user(conn):
                continue
            if _changed(sources):
                conn.sendall(b"stale\n")
                listener.close()
                return 0
            _fork_supervisor(listener, conn)


def _warm() -> None:
    """Validate every starter spec once, so the validators pydantic builds on first use are built
    here, before any fork, instead of in each submit."""
    try:
        from core.spec import load_text, templates

        for text in templates().values():
            for document in load_text(text):
                if document.spec is not None:  # the run spec, its redacted copy and its JSON: what a submit builds
                    document.spec.redacted().model_dump_json()
    except Exception:
        pass


def _fork_supervisor(listener: socket.socket, conn: socket.socket) -> None:
    """Fork a child that leaves the server's session and becomes the run's supervisor."""
    if os.fork():
        return
    code = 1
    try:
        listener.close()
        code = _become_supervisor(conn)
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        os._exit(code)


def _become_supervisor(conn: socket.socket) -> int:
    import signal

    from core import supervisor

    os.setsid()
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    conn.settimeout(REPLY_TIMEOUT)
    raw = _read_all(conn)
    if not raw:
        return 0  # a client that only looked for the server
    request = json.loads(raw)
    if request.get("op") == "submit":  # a thin client's `run`: submit here, then supervise
        from core.handoff import serve_submit

        return serve_submit(request, conn)
    os.environ.clear()
    os.environ.update(request["env"])
    os.chdir(request["cwd"])
    os.umask(0o077)
    log_fd = os.open(request["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    null_fd = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null_fd, 0)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    os.close(null_fd)
    os.close(log_fd)
    conn.sendall(f"ok {os.getpid()}\n".encode())
    conn.close()
    try:
        return supervisor.main(request["run_id"], request["payload"])
    except Exception:
        import traceback

        traceback.print_exc()
        return 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()


if __name__ == "__main__":
    sys.exit(serve())
