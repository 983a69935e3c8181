"""A thin `run`: the supervisor server validates and submits the spec, and the child it forks for
that becomes the run's supervisor.

    submit_via_server(engine, path, cluster, document) -> str | None   # the client: the run's id;
                                        # None when no server answers (the caller submits itself)
    serve_submit(request, conn) -> int  # in the server's forked child: submit, reply, supervise

The client imports neither pydantic, the spec models, paramiko nor the docker SDK: the server has
them imported already, and the child it forks submits exactly as `Engine.submit` does here (the
client's environment, working folder and config; the same checks, the same sentences). Spec
problems come back as `SpecError` (same file, line, column and message), other refusals as
`EngineError`. The child then becomes the run's supervisor in the same process, so what it opened
to check the cluster (an SSH connection, a Docker client) serves the run: one login, not two.

The request goes over the server's socket only (it carries the client's environment, secrets
included, like a supervisor's request); both ends check the peer is the same user.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Callable

from core.errors import EngineError

TYPE_CHECKING = False  # typing stays out of a client's `vessl-tui run`
if TYPE_CHECKING:
    from typing import Any

    from core.engine import Engine

#: How long the client waits for the submit's answer: the cluster's reach check (one connection,
#: itself bounded) plus validation.
SUBMIT_REPLY_TIMEOUT = 120.0


def submit_via_server(engine: "Engine", path: str, cluster: str | None, document: int,
                      meanwhile: Callable[[], None] | None = None) -> str | None:
    """Hand the submit to this user's supervisor server; the new run's id, None when no server
    answered (nothing was submitted). Raises SpecError / EngineError as `Engine.submit` would.
    `meanwhile` runs once the request is sent, while the server submits."""
    from core import supervisor_server as server

    if not server.enabled():
        return None
    sock = server._connect(engine.supervisor_env())
    if sock is None:
        return None
    request = {"op": "submit", "path": os.fspath(path), "cluster": cluster, "document": document,
               "env": dict(os.environ), "cwd": os.getcwd(), "home": str(engine.home)}
    with sock:
        try:
            sock.settimeout(server.REPLY_TIMEOUT)
            if not server._same_user(sock):
                return None
            sock.sendall(json.dumps(request).encode())
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            return None  # nothing reached the server: submit here
        if meanwhile is not None:
            meanwhile()
        try:
            sock.settimeout(SUBMIT_REPLY_TIMEOUT)
            raw = server._read_line(sock)
        except OSError as exc:
            raise EngineError(f"the supervisor server stopped answering the submit ({exc}); "
                              f"`vessl-tui ps` shows whether the run was submitted.") from None
    return _answer(raw)


def _answer(raw: bytes) -> str | None:
    if not raw or raw.startswith(b"stale"):
        return None  # that server has exited before reading the request: submit here
    reply = json.loads(raw)
    if "run" in reply:
        return str(reply["run"])
    if "problems" in reply:
        from core.spec.errors import Problem, SpecError

        raise SpecError([Problem(*fields) for fields in reply["problems"]])
    raise EngineError(reply.get("error") or "the supervisor server refused the submit.")


# --- server side (a forked child of the supervisor server) ---------------------------------------


def serve_submit(request: dict[str, Any], conn: socket.socket) -> int:
    """Submit as the client would have, answer it, then supervise the new run in this process."""
    from core import supervisor
    from core.paths import private_dir, run_dir

    os.environ.clear()
    os.environ.update(request["env"])
    os.chdir(request["cwd"])
    os.umask(0o077)
    null_fd = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null_fd, fd)
    os.close(null_fd)
    engine = _engine_class()(_home(request))
    try:
        engine.submit(request["path"], request["cluster"], int(request["document"]))
    except Exception as exc:  # every refusal goes back to the client as the sentence it would print
        conn.sendall(json.dumps(_refusal(exc, engine)).encode() + b"\n")
        return 1
    run_id, payload = engine.handed
    conn.sendall(json.dumps({"run": run_id}).encode() + b"\n")
    conn.close()
    env = engine.supervisor_env()  # the client's, less its secrets
    os.environ.clear()
    os.environ.update(env)
    os.chdir(private_dir(run_dir(run_id, engine.home)))  # where every supervisor works
    from core import logs

    log_fd = logs.open_append(logs.provision_log(run_id, engine.home))
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    os.close(log_fd)
    return supervisor.main(run_id, payload)


def _home(request: dict[str, Any]) -> Any:
    from pathlib import Path

    return Path(request["home"])


def _engine_class() -> type:
    from core.engine import Engine

    class HandedEngine(Engine):
        """Submits like `Engine`, but keeps the supervisor's payload for this process to run."""

        handed: tuple[str, dict[str, Any]]

        def _spawn_supervisor(self, run_id: str, payload: dict[str, Any]) -> None:
            self.handed = (run_id, payload)

    return HandedEngine


def _refusal(exc: Exception, engine: "Engine") -> dict[str, Any]:
    from core.backends.base import BackendError
    from core.diskspace import no_space, no_space_sentence
    from core.spec.errors import SpecError

    if isinstance(exc, SpecError):
        return {"problems": [[p.file, p.line, p.column, p.path, p.message, p.severity] for p in exc.problems]}
    if isinstance(exc, (EngineError, BackendError)):
        return {"error": str(exc)}
    if no_space(exc):
        return {"error": no_space_sentence(engine.home)}
    return {"error": f"the submit failed: {type(exc).__name__}: {exc}"}
