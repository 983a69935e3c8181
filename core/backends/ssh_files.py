"""Files on an SSH host for the SSH backend: over SFTP, or over exec channels where the host has no
SFTP subsystem (hardened servers disable it).

    files = sftp_client or ExecFiles(conn)    # both: files.open(path, "rb") -> seek/read, close()
    read_at(files, path, offset)              # up to 1 MiB from `offset`; b"" when missing
    upload(files, local, remote); download(files, remote, local)

`ExecFiles` reads with `tail -c +N | head -c SIZE` and moves folders as tar streams (`tar -x`/`tar
-c` on the host), one exec channel each, on the host's shared connection.
"""

from __future__ import annotations

import io
import shlex
import stat
import tarfile
from pathlib import Path, PurePosixPath
from typing import Any

READ_CHUNK = 1 << 20
_MISSING = 44  # the exit status of an exec read whose file does not exist


def q(value: str | PurePosixPath) -> str:
    return shlex.quote(str(value))


class ExecFiles:
    """The part of paramiko's SFTPClient the SSH backend uses, over exec channels of `conn`."""

    def __init__(self, conn: Any):
        self.conn = conn

    def open(self, path: str, mode: str = "rb") -> "_ExecFile":
        return _ExecFile(self.conn, path)

    def close(self) -> None:
        """Nothing stays open between reads."""


class _ExecFile:
    def __init__(self, conn: Any, path: str):
        self.conn, self.path, self.offset = conn, path, 0

    def __enter__(self) -> "_ExecFile":
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    def seek(self, offset: int) -> None:
        self.offset = offset

    def read(self, size: int) -> bytes:
        path = q(self.path)
        code, out, err = self.conn.run_bytes(
            f"[ -e {path} ] || exit {_MISSING}; tail -c +{self.offset + 1} {path} | head -c {int(size)}", timeout=60)
        if code == _MISSING:
            raise FileNotFoundError(self.path)
        self.offset += len(out)
        return out


def read_at(files: Any, path: str, offset: int, missing: bytes | None = b"") -> bytes | None:
    """Up to 1 MiB of a remote file from `offset`; `missing` when the file does not exist."""
    try:
        with files.open(path, "rb") as f:
            f.seek(offset)
            return f.read(READ_CHUNK)
    except FileNotFoundError:
        return missing


def close_quietly(files: Any) -> None:
    if files is not None:
        try:
            files.close()
        except Exception:  # noqa: BLE001 - a dead link may fail in any way while closing
            pass


def upload(files: Any, local: Path, remote: str) -> None:
    """Copy the file or folder `local` to `remote` on the host."""
    if isinstance(files, ExecFiles):
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            tar.add(str(local), arcname=".")
        parent = remote if local.is_dir() else str(PurePosixPath(remote).parent)
        unpack = (f"mkdir -p {q(parent)} && tar -xf - -C {q(parent)}" if local.is_dir() else
                  f"mkdir -p {q(parent)} && cat > {q(remote)}")
        data = buffer.getvalue() if local.is_dir() else local.read_bytes()
        code, _, err = files.conn.run_bytes(unpack, stdin=data, timeout=600)
        if code != 0:
            raise OSError(f"could not write {remote}: {err.decode(errors='replace').strip()}")
        return
    if local.is_dir():
        try:
            files.mkdir(remote)
        except OSError:
            pass
        for child in local.iterdir():
            upload(files, child, f"{remote}/{child.name}")
    else:
        _mkdirs(files, str(PurePosixPath(remote).parent))
        files.put(str(local), remote)


def _mkdirs(sftp: Any, path: str) -> None:
    parts = PurePosixPath(path).parts
    for i in range(1, len(parts) + 1):
        sub = str(PurePosixPath(*parts[:i]))
        try:
            sftp.stat(sub)
        except FileNotFoundError:
            sftp.mkdir(sub)


def download(files: Any, remote: str, local: Path) -> None:
    """Copy the file or folder `remote` on the host to `local`; FileNotFoundError when absent."""
    if isinstance(files, ExecFiles):
        path = PurePosixPath(remote)
        code, out, err = files.conn.run_bytes(
            f"[ -e {q(path)} ] || exit {_MISSING}; tar -cf - -C {q(path.parent)} {q(path.name)}", timeout=600)
        if code == _MISSING:
            raise FileNotFoundError(remote)
        if code != 0:
            raise OSError(f"could not read {remote}: {err.decode(errors='replace').strip()}")
        local.parent.mkdir(parents=True, exist_ok=True)
        with tarfile.open(fileobj=io.BytesIO(out)) as tar:
            for member in tar.getmembers():
                name = PurePosixPath(member.name)
                rest = PurePosixPath(*name.parts[1:]) if len(name.parts) > 1 else None
                member.name = str(rest) if rest else local.name
                tar.extract(member, local if rest else local.parent, filter="data")
        return
    if stat.S_ISDIR(files.stat(remote).st_mode):
        local.mkdir(parents=True, exist_ok=True)
        for entry in files.listdir_attr(remote):
            download(files, f"{remote}/{entry.filename}", local / entry.filename)
    else:
        local.parent.mkdir(parents=True, exist_ok=True)
        files.get(remote, str(local))
