"""One warm OpenSSH connection per host for run launches: a ControlMaster kept PERSIST_S seconds
after its last use, so a run started on a host used within that time costs one session on it, not
a login (key exchange and authentication).

    enabled() -> bool                  # an OpenSSH client is installed, VESSL_TUI_SSH_MUX is not 0
    has_master(target) -> bool         # a master's socket exists (not checked: cheap)
    ensure_master(target) -> bool      # a master for target listens now (made when none did); False
                                       # when it cannot be made (the caller uses paramiko, whose
                                       # sentences say why)
    session(target, command) -> MuxSession   # `command` on the host through the master
    close_all()                        # `ssh -O exit` every master this process knows of

The master logs in exactly as paramiko does for the cluster: the target's user, port, keys and
jump host, host keys checked against the target's known_hosts (StrictHostKeyChecking=yes, never
a prompt: BatchMode=yes), keepalives every 15 s (a dead link ends it within 45 s). Its socket
lives in a folder only this user can open.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.sshconn import SshTarget

#: How long a master stays after its last session (seconds).
PERSIST_S = 300
#: How long making a master may take (login included).
MASTER_TIMEOUT_S = 30.0
_known: set[str] = set()  # control paths of the masters this process made or used


def enabled() -> bool:
    return os.environ.get("VESSL_TUI_SSH_MUX", "1") != "0" and shutil.which("ssh") is not None


def control_path(target: "SshTarget") -> str:
    """The master's socket: short (unix socket paths are limited), one per login."""
    base = Path(os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir()) / f"vessl-tui-ssh-{os.getuid()}"
    base.mkdir(mode=0o700, exist_ok=True)
    os.chmod(base, 0o700)
    key = "\0".join([target.user, target.hostname, str(target.port), *target.key_files, target.known_hosts,
                     target.proxy_jump or "", target.ssh_config or ""])
    return str(base / hashlib.sha256(key.encode()).hexdigest()[:20])


def _options(target: "SshTarget") -> list[str]:
    argv = ["-p", str(target.port), "-o", f"UserKnownHostsFile={target.known_hosts}",
            "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-o", f"ControlPath={control_path(target)}"]
    if target.ssh_config:
        argv += ["-F", target.ssh_config]
    for key in target.key_files:
        argv += ["-i", key]
    if target.proxy_jump:
        argv += ["-J", target.proxy_jump]
    return argv


def _login(target: "SshTarget") -> str:
    return f"{target.user}@{target.hostname}"


def has_master(target: "SshTarget") -> bool:
    """A master's socket exists for `target` (no check that it answers: a session through a gone
    one fails with ssh's status 255, and the caller then logs in another way)."""
    return enabled() and os.path.exists(control_path(target))


def master_alive(target: "SshTarget") -> bool:
    """A master for `target` answers on its socket (no login, no remote command)."""
    try:
        done = subprocess.run(["ssh", *_options(target), "-O", "check", _login(target)], stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def ensure_master(target: "SshTarget") -> bool:
    """A master for `target` listens (made now when none did: `ssh -M -N -f`, backgrounded once
    logged in, its standard streams closed so no reader of ours waits on it)."""
    if not enabled():
        return False
    if master_alive(target):
        _known.add(control_path(target))
        return True
    try:
        done = subprocess.run(
            ["ssh", *_options(target), "-M", "-N", "-f", "-o", f"ControlPersist={PERSIST_S}",
             "-o", "ServerAliveInterval=15", "-o", "ServerAliveCountMax=3", _login(target)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            timeout=MASTER_TIMEOUT_S, start_new_session=True)
    except (OSError, subprocess.TimeoutExpired):
        return False
    if done.returncode == 0:
        _known.add(control_path(target))
    return done.returncode == 0


class MuxSession:
    """`command` on the host through the master, with the reading side `LiveLog` expects:
    `recv(n)` (stdout), `recv_stderr(n)`, `sendall(data)`, `shutdown_write()`, `close()`,
    `alive()` and `exit_status()`."""

    def __init__(self, target: "SshTarget", command: str):
        self.proc = subprocess.Popen(
            ["ssh", *_options(target), "-T", "-o", "ControlMaster=no", _login(target), command],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)

    def sendall(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def shutdown_write(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()

    def recv(self, size: int) -> bytes:
        assert self.proc.stdout is not None
        return os.read(self.proc.stdout.fileno(), size)

    def recv_stderr(self, size: int) -> bytes:
        assert self.proc.stderr is not None
        return os.read(self.proc.stderr.fileno(), size)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def exit_status(self) -> int:
        return self.proc.wait()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream is not None and not stream.closed:
                stream.close()


def session(target: "SshTarget", command: str) -> MuxSession:
    return MuxSession(target, command)


def close_all() -> None:
    """Ask every master this process made or used to exit."""
    for path in list(_known):
        subprocess.run(["ssh", "-o", f"ControlPath={path}", "-O", "exit", "localhost"], stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=10)
        _known.discard(path)
