"""What the log pane knows of a log without holding it: a sparse line index fed in order
(`LineFeeder`: the byte offset of every `STRIDE`-th line and the text of the newest blocks) and
a search over any byte range of the log (`search_lines`). Pure: no widget, no event loop.
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

STRIDE = 64
CACHE_BLOCKS = 64
MAX_LINE_CHARS = 4000
READ_LIMIT = 1 << 20
MAX_MATCHES = 100_000

LogReader = Callable[[int, int], "tuple[bytes, int]"]
"""`reader(offset, limit) -> (data, next_offset)`: bytes of the log from `offset` (blocking)."""


def display_text(raw: str) -> str:
    """A log line as a terminal shows it: the text after the last carriage return, tabs expanded."""
    if "\r" in raw:
        raw = raw.rstrip("\r").rsplit("\r", 1)[-1]
    if "\t" in raw:
        raw = raw.expandtabs(8)
    return raw[:MAX_LINE_CHARS]


@dataclass
class LogBatch:
    """What one read of new bytes changed: index checkpoints, counts, and the newest blocks' text."""

    checkpoints: list[int]
    line_count: int
    size: int
    partial: str
    complete: int = 0
    """Bytes up to the end of the last complete line."""
    blocks: dict[int, list[str]] = field(default_factory=dict)
    widest: int = 0

    def merged(self, later: "LogBatch") -> "LogBatch":
        """This batch and `later` (fed right after it) as one: what both changed, the newest text."""
        return LogBatch(self.checkpoints + later.checkpoints, later.line_count, later.size, later.partial,
                        later.complete, {**self.blocks, **later.blocks}, max(self.widest, later.widest))


class LineFeeder:
    """Indexes an append-only byte stream fed in order (runs in the tail worker, not the UI).

    Line `n` starts at byte `checkpoint[n // STRIDE]` plus the lines before it in its block.
    Only the last `keep_blocks` blocks of new lines are decoded, the rest are only counted.
    """

    def __init__(self, stride: int = STRIDE, keep_blocks: int = CACHE_BLOCKS) -> None:
        self.stride = stride
        self.keep_blocks = keep_blocks
        self.line_count = 0
        self.size = 0
        self._rest = b""
        self._block_lines: list[str] = []

    def feed(self, data: bytes) -> LogBatch:
        stride = self.stride
        base = self.size - len(self._rest)
        data = self._rest + data
        self.size = base + len(data)
        cut = data.rfind(b"\n") + 1
        complete, self._rest = data[:cut], data[cut:]
        n0 = self.line_count
        count = complete.count(b"\n")
        end = n0 + count
        first = (-(n0 + 1)) % stride  # line n0 + first + 1 is the first to start a block
        starts = self._block_starts(complete, first, count)
        # decode only the newest blocks: from a block boundary at most keep_blocks blocks back
        keep_from = max(n0, ((end - self.keep_blocks * stride) // stride) * stride)
        blocks: dict[int, list[str]] = {}
        widest = 0
        if count:
            at = 0 if keep_from == n0 else starts[(keep_from - n0 - first - 1) // stride]
            parts = complete[at:].split(b"\n")
            del parts[-1]
            block_lines = self._block_lines if keep_from == n0 else []
            for b in range(keep_from // stride, end // stride + 1):
                lo, hi = max(keep_from, b * stride), min(end, (b + 1) * stride)
                lines = [display_text(p.decode("utf-8", "replace")) for p in parts[lo - keep_from : hi - keep_from]]
                if lines:
                    widest = max(widest, max(map(len, lines)))
                if b * stride < n0 <= lo:
                    lines = block_lines + lines
                blocks[b] = lines
            self._block_lines = list(blocks.get(end // stride, []))
        self.line_count = end
        partial = display_text(self._rest.decode("utf-8", "replace")) if self._rest else ""
        return LogBatch([base + a for a in starts], self.line_count, self.size, partial, self.size - len(self._rest),
                        blocks, max(widest, len(partial)))

    def _block_starts(self, complete: bytes, first: int, count: int) -> list[int]:
        """Offsets in `complete` (`count` whole lines) of the lines `first + 1`, `first + 1 + stride`, …:
        each found by one regex match over `stride` lines (a scan in C, no Python work per line)."""
        if count <= first:
            return []
        pattern = _lines_pattern(first + 1)
        at = pattern.match(complete).end()  # type: ignore[union-attr]
        starts = [at]
        match = _lines_pattern(self.stride).match
        for _ in range((count - first - 1) // self.stride):
            at = match(complete, at).end()  # type: ignore[union-attr]
            starts.append(at)
        return starts


@lru_cache(maxsize=256)
def _lines_pattern(lines: int) -> re.Pattern[bytes]:
    """Matches exactly `lines` whole lines (each up to and with its newline)."""
    return re.compile(rb"(?:[^\n]*\n){%d}" % lines)


def search_lines(reader: LogReader, query: str, end: int, limit: int = MAX_MATCHES, start: int = 0,
                 first_line: int = 0) -> array:
    """Line numbers (0-based, unique, ascending) of lines containing `query`, case-insensitive,
    scanning bytes [start, end) of the log, where line `first_line` begins at `start`; at most
    `limit` of them. `start` and `end` are line boundaries (or `end` the log's end)."""
    pattern = re.compile(re.escape(query.encode("utf-8")), re.IGNORECASE)
    found = array("q")
    offset, line, rest = start, first_line, b""
    while offset < end and len(found) < limit:
        data, nxt = reader(offset, min(READ_LIMIT, end - offset))
        if not data:
            break
        offset = nxt
        chunk = rest + data
        cut = chunk.rfind(b"\n") + 1 if offset < end else len(chunk)
        chunk, rest = chunk[:cut], chunk[cut:]
        pos, current = 0, line
        for match in pattern.finditer(chunk):
            current += chunk.count(b"\n", pos, match.start())
            pos = match.start()
            if not found or found[-1] != current:
                found.append(current)
                if len(found) >= limit:
                    break
        line += chunk.count(b"\n")
    return found
