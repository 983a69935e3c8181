"""One rank's lines of a multi-node run's log (`[rank K] text` lines), read like a log of its own.

    views = RankLogs()
    views.read(log_path, rank, offset, limit) -> (bytes, next_offset)   # the rank's lines, untagged

The rank's lines are copied, as the merged log grows, into a file of this client's own (in a
private temporary folder removed at exit), so that a reader gets stable byte offsets into an
append-only file, as with the run's log itself; memory stays bounded whatever the log's size.
The run's log stays the one source of truth: nothing is written beside it.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import tempfile
import threading
from pathlib import Path

from core import logs

_TAG = re.compile(rb"^\[rank (\d+)\] ")
SCAN_BYTES = 4 << 20


class RankLogs:
    def __init__(self) -> None:
        self._folder: Path | None = None
        self._scanned: dict[tuple[str, int], int] = {}
        self._lock = threading.Lock()

    def _file(self, source: Path, rank: int) -> Path:
        if self._folder is None:
            self._folder = Path(tempfile.mkdtemp(prefix="vessl-tui-ranks-"))
            atexit.register(shutil.rmtree, self._folder, True)
        return self._folder / f"{source.parent.name}-{source.stem}-rank-{rank}.log"

    def read(self, source: Path, rank: int, offset: int, limit: int) -> tuple[bytes, int]:
        with self._lock:
            derived = self._file(source, rank)
            key = (str(source), rank)
            scanned = self._scanned.get(key, 0)
            while True:
                data, _ = logs.read(source, scanned, SCAN_BYTES)
                cut = data.rfind(b"\n") + 1
                if not cut:
                    break
                picked = [line[m.end():] for line in data[:cut].splitlines(keepends=True)
                          if (m := _TAG.match(line)) and int(m.group(1)) == rank]
                if picked:
                    fd = os.open(derived, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                    try:
                        os.write(fd, b"".join(picked))
                    finally:
                        os.close(fd)
                scanned += cut
                if len(data) < SCAN_BYTES:
                    break
            self._scanned[key] = scanned
        return logs.read(derived, offset, limit)
