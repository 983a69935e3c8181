"""A full disk under VESSL_TUI_HOME: recognising it, saying it, and keeping room for the last word.

    no_space(exc) -> bool             ENOSPC / EDQUOT, or SQLite's "database or disk is full"
    no_space_sentence(home) -> str    "no space left on device in VESSL_TUI_HOME (…); …"
    free_bytes(path) -> int | None    what an unprivileged writer may still write there
    nearly_full(path) -> bool         less than FULL_BELOW bytes left
    reserve(path) / release(path)     a file of RESERVE_BYTES that a supervisor holds while its run
                                      lives and gives back just before it writes the run's end

Imports nothing of ours: the store, the logs, the supervisor and the CLI all use it.
"""

from __future__ import annotations

import errno
import os
import sys
from pathlib import Path

#: Room a supervisor keeps for writing its run's final status on a disk that filled up meanwhile.
RESERVE_BYTES = 128 * 1024
#: Below this much free space the disk counts as full (writes of a log line would fail).
FULL_BELOW = 16 * 1024
#: `submit` refuses a new run with less than this free (its supervisor could not even start).
SUBMIT_NEEDS = 2 * RESERVE_BYTES


def no_space(exc: BaseException | None) -> bool:
    """True when `exc` (or what it was raised from) says the disk or the quota is full."""
    while exc is not None:
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        sqlite3 = sys.modules.get("sqlite3")
        if sqlite3 is not None and isinstance(exc, sqlite3.Error) and "disk is full" in str(exc):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def no_space_sentence(home: Path) -> str:
    free = free_bytes(home)
    left = f"{free // 1024} KiB free" if free is not None else "full"
    return f"no space left on device in VESSL_TUI_HOME ({home}, {left}); free some space there and try again."


def free_bytes(path: Path) -> int | None:
    try:
        st = os.statvfs(path)
    except OSError:
        return None
    return st.f_bavail * st.f_frsize


def nearly_full(path: Path) -> bool:
    free = free_bytes(path)
    return free is not None and free < FULL_BELOW


def reserve(path: Path) -> bool:
    """Make sure a file of RESERVE_BYTES really allocated exists at `path`; False when there was no
    room for it."""
    try:
        if path.exists() and path.stat().st_size >= RESERVE_BYTES:
            return True
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            os.posix_fallocate(fd, 0, RESERVE_BYTES)
        finally:
            os.close(fd)
        return True
    except OSError:
        path.unlink(missing_ok=True)
        return False


def release(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError:
        pass
