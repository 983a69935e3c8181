"""Run logs: append-only files on disk, read with a byte cursor. Nothing grows in memory with a log.

    output_log(run_id)       runs/<id>/output.log     the work's stdout and stderr, interleaved as written
    provision_log(run_id)    runs/<id>/provision.log  what the supervisor did (staging, attempts, errors)
    read(path, offset, limit) -> (bytes, next_offset)
    follow(path, offset, done) -> Iterator[bytes]   chunks until `done()` is true and the file drained,
                                                    woken by writes in the run's folder (core.runwatch)
    follow_reads(read, ended, offset)               the same over any reader (a remote file)
    ProvisionLog(path)       one timestamped line per call, appended

The work of a local run writes straight into its output log (an O_APPEND file descriptor), so no
line depends on the supervisor staying alive.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from core.diskspace import no_space
from core.paths import private_dir, run_dir

CHUNK = 1 << 20
#: Longest a follower sleeps without a change before asking again whether the run ended.
IDLE_SECONDS = 1.0
OUTPUT_LOG = "output.log"
PROVISION_LOG = "provision.log"


def output_log(run_id: str, home: Path | None = None) -> Path:
    return run_dir(run_id, home) / OUTPUT_LOG


def provision_log(run_id: str, home: Path | None = None) -> Path:
    return run_dir(run_id, home) / PROVISION_LOG


def open_append(path: Path) -> int:
    """An O_APPEND file descriptor on `path` (created 0600): concurrent writers never overwrite."""
    private_dir(path.parent)
    return os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)


def read(path: Path, offset: int = 0, limit: int = CHUNK) -> tuple[bytes, int]:
    """Up to `limit` bytes of `path` from byte `offset`, and the offset to read from next.
    A missing file reads as empty."""
    try:
        with open(path, "rb") as fh:
            fh.seek(offset)
            data = fh.read(limit)
    except FileNotFoundError:
        return b"", offset
    return data, offset + len(data)


def size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def follow(
    path: Path,
    offset: int = 0,
    done: Callable[[], bool] = lambda: True,
    stop: Callable[[], bool] | None = None,
    idle: float | None = None,
) -> Iterator[bytes]:
    """Yield new bytes of `path` as they are written, until `done()` is true and everything written
    before that moment has been yielded (or `stop()` is true). Sleeps until the file's folder
    changes (core.runwatch: new bytes, a status line, the supervisor's end), asking `done()` and
    `stop()` again at least every `idle` seconds (default IDLE_SECONDS) while nothing changes."""
    from core.runwatch import RunWatch

    idle = IDLE_SECONDS if idle is None else idle
    with RunWatch(path.parent) as watch:  # watching before reading: no write after a read is missed
        while True:
            if stop is not None and stop():
                return
            finished = done()  # read the state before draining: no byte written before the end is missed
            while True:
                data, offset = read(path, offset)
                if not data:
                    break
                yield data
            if finished:
                return
            watch.wait(idle)


def follow_reads(
    read: Callable[[int], bytes], ended: Callable[[], bool], offset: int = 0, poll: float = 0.05, max_poll: float = 0.5,
) -> Iterator[bytes]:
    """Yield what `read(offset)` returns (bytes after `offset`, b"" when nothing new) as the source
    grows, until `ended()` is true and a read after that found nothing: for files read through a
    cluster's own access (SFTP, a login host). `ended` is asked only when a read came back empty."""
    delay, finished = poll, False
    while True:
        data = read(offset)
        if data:
            offset += len(data)
            delay = poll
            yield data
            continue
        if finished:
            return
        finished = ended()
        if not finished:
            time.sleep(delay)
            delay = min(max_poll, delay * 1.5)


class ProvisionLog:
    """Appends timestamped lines to a run's provisioning log (one `write` per line)."""

    def __init__(self, path: Path):
        self.path = path

    def __call__(self, line: str) -> None:
        """Append `line`; on a full disk the line is dropped (what it says is also in the run's
        events or status when it matters), never an error for the caller."""
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        try:
            fd = open_append(self.path)
            try:
                os.write(fd, f"{stamp} {line.rstrip()}\n".encode())
            finally:
                os.close(fd)
        except OSError as exc:
            if not no_space(exc):
                raise
