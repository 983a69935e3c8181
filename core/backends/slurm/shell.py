"""Where Slurm's client commands run and the job's files live: this machine, or a login host.

    shell = shell_for(cluster)                  # LocalShell, or LoginShell when `login:` is set
    shell.run(argv, env=None, timeout=60) -> (code, stdout, stderr)   # SLURM_CONF exported
    shell.read_at(path, offset) -> bytes        # up to 1 MiB of a file from `offset` (b"" if absent)
    shell.write(path, text)                     # a file (parents created); never a secret
    shell.root                                  # the folder runs live under (a shared filesystem)

`env` values (a run's env and secrets) travel in the command's environment: a child's environment
here, the exec channel's stdin (`sh -s`) on a login host; never argv, never a file.
Failures raise BackendError with one sentence.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import threading
import time
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from core.backends.base import BackendError

if TYPE_CHECKING:
    from core.config import ClusterConfig

_READ_CHUNK = 1 << 20


class LocalShell:
    """Client commands on this machine; runs under the run's own folder (`VESSL_TUI_HOME/runs/ID`)."""

    where = "this machine"

    def __init__(self, cluster: "ClusterConfig"):
        self.cluster = cluster
        self.conf_env = {"SLURM_CONF": os.path.expanduser(cluster.slurm_conf)} if cluster.slurm_conf else {}

    def root(self, run_id: str, local_run_dir: Path) -> str:
        return str(local_run_dir)

    def run(self, argv: list[str], env: dict[str, str] | None = None, timeout: float = 60.0) -> tuple[int, str, str]:
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
                                  env={**os.environ, **self.conf_env, **(env or {})})
        except FileNotFoundError:
            raise BackendError(f"the Slurm command `{argv[0]}` is not installed on this machine; install Slurm's "
                               f"client (Debian: slurm-client) or set `login:` on cluster {self.cluster.name}.") from None
        except subprocess.TimeoutExpired:
            raise BackendError(f"`{argv[0]}` did not answer within {timeout:g}s; is slurmctld up?") from None
        return done.returncode, done.stdout, done.stderr

    def read_at(self, path: str, offset: int) -> bytes:
        try:
            with open(path, "rb") as f:
                f.seek(offset)
                return f.read(_READ_CHUNK)
        except FileNotFoundError:
            return b""

    def write(self, path: str, text: str) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(text)


class LoginShell:
    """Client commands on the cluster's login host over the shared SSH connection (host keys verified)."""

    def __init__(self, cluster: "ClusterConfig"):
        from core.sshconn import resolve_target

        self.cluster = cluster
        self.target = resolve_target(cluster.model_copy(update={"host": cluster.login}))
        self.where = self.target.label
        self.conf_env = {"SLURM_CONF": cluster.slurm_conf} if cluster.slurm_conf else {}
        self._local = threading.local()  # paramiko's SFTP client is one per thread

    def root(self, run_id: str, local_run_dir: Path) -> str:
        root = self.cluster.work_root or ".vessl-tui"
        root = root[2:] if root.startswith("~/") else root
        return str(PurePosixPath(root) / "runs" / run_id)

    def _conn(self):  # noqa: ANN202 - SshConnection, imported lazily
        from core.sshconn import _pool_get

        conn = _pool_get(self.target)
        conn.ensure(deadline=30.0)
        return conn

    def run(self, argv: list[str], env: dict[str, str] | None = None, timeout: float = 60.0) -> tuple[int, str, str]:
        from core.sshconn import SshError

        exports = "".join(f"export {k}={shlex.quote(v)}\n" for k, v in {**self.conf_env, **(env or {})}.items())
        script = exports + " ".join(shlex.quote(a) for a in argv) + "\n"
        end = time.monotonic() + 60.0
        while True:
            try:
                return self._conn().run("sh -s", stdin=script.encode(), timeout=timeout)
            except SshError as exc:
                if not exc.retryable or time.monotonic() >= end:
                    raise
                time.sleep(0.2)

    def read_at(self, path: str, offset: int) -> bytes:
        from core.sshconn import SshError

        try:
            sftp = self._sftp()
            with sftp.open(path, "rb") as f:
                f.seek(offset)
                return f.read(_READ_CHUNK)
        except FileNotFoundError:
            return b""
        except (SshError, OSError, EOFError):
            self._local.sftp = None  # a dropped link: the next read opens a new session
            return b""

    def _sftp(self):  # noqa: ANN202 - paramiko.SFTPClient
        conn = self._conn()
        key = (id(conn), conn.connects)
        cached = getattr(self._local, "sftp", None)
        if cached is None or cached[0] != key:
            cached = self._local.sftp = (key, conn.sftp())
        return cached[1]

    def write(self, path: str, text: str) -> None:
        folder = shlex.quote(str(PurePosixPath(path).parent))
        code, _, err = self._conn().run(f"mkdir -p {folder} && cat > {shlex.quote(path)}", stdin=text.encode(), timeout=30)
        if code != 0:
            raise BackendError(f"could not write {path} on {self.where}: {err.strip() or f'exit {code}'}.")


def shell_for(cluster: "ClusterConfig") -> LocalShell | LoginShell:
    return LoginShell(cluster) if cluster.login else LocalShell(cluster)
