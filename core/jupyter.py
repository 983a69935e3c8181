"""Jupyter tokens of interactive runs: derived, never stored.

A run's token is HMAC-SHA256(the user's key, run id), the key being 32 random bytes in
`VESSL_TUI_HOME/keys/jupyter.key` (mode 0600, made on first use). So every client of the same user
(the supervisor that starts Jupyter, the CLI's `tunnel`, the TUI) computes the same token when it
needs it, and the token itself is never written to the store, a log, or a file on the host: it
reaches Jupyter in the `JUPYTER_TOKEN` environment variable (over the SSH channel's stdin).

    jupyter_token(run_id) -> str
    jupyter_path(run_id) -> "/?token=…"          the path part of the URL to open
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from core.paths import home_path

KEY_BYTES = 32


def _key_file() -> Path:
    return home_path() / "keys" / "jupyter.key"


def _key() -> bytes:
    path = _key_file()
    try:
        key = path.read_bytes()
        if len(key) == KEY_BYTES:
            return key
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fresh = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(secrets.token_bytes(KEY_BYTES))
    try:  # first writer wins: two clients at once end up with the same key
        os.link(fresh, path)
    except FileExistsError:
        pass
    finally:
        fresh.unlink()
    return path.read_bytes()


def jupyter_token(run_id: str) -> str:
    """The Jupyter token of run `run_id` (48 hex characters), the same in every client of this user."""
    return hmac.new(_key(), f"jupyter:{run_id}".encode(), hashlib.sha256).hexdigest()[:48]


def jupyter_path(run_id: str) -> str:
    return f"/?token={jupyter_token(run_id)}"


JUPYTER_PORT = 8888
"""The first port a run's Jupyter may take (a cluster's `options.jupyter_port` moves it)."""


def launch_line(command: str, port: int, idle_timeout: float | None, log: str, ip: str = "127.0.0.1") -> str:
    """POSIX sh that starts `command lab` in the background on `ip`:`port` (its token comes
    from JUPYTER_TOKEN in the environment, never argv), shut down after `idle_timeout` seconds without
    activity, output to `log`; says so in the run's log when `command` is not installed."""
    from shlex import quote

    cull = f" --ServerApp.shutdown_no_activity_timeout={int(idle_timeout)}" if idle_timeout else ""
    return (f"if command -v {quote(command)} >/dev/null 2>&1; then {quote(command)} lab --no-browser --allow-root "
            f"--ip={ip} --port={int(port)} --ServerApp.port_retries=0{cull} > {log} 2>&1 & "
            f"else echo 'vessl-tui: {command} is not installed here: the run has no notebook' >&2; fi")
