"""Secret values a run prints are masked (`***`) before they reach its log, as CI systems do.

    Masker(values, keep_length=False)        keep_length: each masked value becomes as many `*` as its
                                             bytes (a log resumed by byte offset stays aligned)
    Masker.feed(chunk) -> bytes              masked output ready to write (whole lines; a partial
    Masker.flush() -> bytes                  line waits for its end, or for `flush`)
    python -I -S core/logmask.py NAME...     a filter: stdin -> stdout, the values taken from the
                                             environment variables NAME... (never from argv)

Lines end at `\\n` or `\\r` (progress bars). A value of fewer than MIN_LENGTH characters is not
masked (it would blank ordinary text); a multi-line value is masked line by line. As a filter, a
partial line is written after IDLE_SECONDS without more output; the filter ends when the last writer
has closed the pipe. Imports only the standard library: it runs with `-I -S`.
"""

from __future__ import annotations

import os
import select
import sys

MASK = b"***"
MIN_LENGTH = 4
IDLE_SECONDS = 0.2


class Masker:
    def __init__(self, values, keep_length: bool = False):
        self.keep_length = keep_length
        pieces = set()
        for value in values:
            for piece in (value, *value.splitlines()):
                if len(piece.strip()) >= MIN_LENGTH:
                    pieces.add(piece.encode())
        self.pieces = sorted(pieces, key=len, reverse=True)
        self.pending = b""

    def mask(self, data: bytes) -> bytes:
        for piece in self.pieces:
            data = data.replace(piece, b"*" * len(piece) if self.keep_length else MASK)
        return data

    def feed(self, chunk: bytes) -> bytes:
        if not self.pieces:
            return chunk
        data = self.pending + chunk
        cut = max(data.rfind(b"\n"), data.rfind(b"\r")) + 1
        self.pending = data[cut:]
        return self.mask(data[:cut])

    def flush(self) -> bytes:
        data, self.pending = self.pending, b""
        return self.mask(data)


def _write(fd: int, data: bytes) -> None:
    while data:
        data = data[os.write(fd, data):]


def filter_stream(names: list[str], source: int = 0, sink: int = 1) -> None:
    masker = Masker([os.environ[n] for n in names if os.environ.get(n)])
    while True:
        try:
            ready = select.select([source], [], [], IDLE_SECONDS)[0]
        except InterruptedError:
            continue
        if not ready:
            _write(sink, masker.flush())
            continue
        try:
            chunk = os.read(source, 65536)
        except InterruptedError:
            continue
        if not chunk:
            break
        _write(sink, masker.feed(chunk))
    _write(sink, masker.flush())


if __name__ == "__main__":
    filter_stream(sys.argv[1:])
