"""Per-rank output files merged into the run's one log, line by line, each line tagged by its rank.

    merger = RankMerger(nodes, consumed)      # consumed: bytes of each rank file already in the log
    merger.feed(rank, data) -> bytes          # the complete lines of `data`, tagged (`[rank 1] …`)
    merger.flush() -> bytes                   # at the end: each rank's unterminated last line
    consumed_from_log(text, nodes) -> list[int]   # per rank, rank-file bytes the log already holds

A single-node job's log is its rank file as written (no tag). A line is only ever written whole,
so a supervisor that dies and a new one that takes over (reading `consumed_from_log` of the log
written since the attempt began) continue each rank file where the log left it: nothing twice,
nothing lost.
"""

from __future__ import annotations

import re

from core.backends.slurm.script import tag

_TAG = re.compile(rb"^\[rank (\d+)\] ")


class RankMerger:
    def __init__(self, nodes: int, consumed: list[int] | None = None):
        self.nodes = nodes
        self.tagged = nodes > 1
        self.offsets = list(consumed or [0] * nodes)
        self._partial: list[bytes] = [b""] * nodes

    def feed(self, rank: int, data: bytes) -> bytes:
        """Take bytes read from rank `rank`'s file at `offsets[rank]`; return whole tagged lines."""
        if not data:
            return b""
        pending = self._partial[rank] + data
        cut = pending.rfind(b"\n") + 1
        self._partial[rank] = pending[cut:]
        whole = pending[:cut]
        self.offsets[rank] += len(whole)
        return self._tag(rank, whole)

    def _tag(self, rank: int, whole: bytes) -> bytes:
        if not whole or not self.tagged:
            return whole
        prefix = tag(rank)
        return b"".join(prefix + line for line in whole.splitlines(keepends=True))

    def read_offset(self, rank: int) -> int:
        """Where the next read of rank `rank`'s file starts (after bytes held as a partial line)."""
        return self.offsets[rank] + len(self._partial[rank])

    def flush(self) -> bytes:
        out = b""
        for rank in range(self.nodes):
            rest = self._partial[rank]
            if rest:
                self._partial[rank] = b""
                self.offsets[rank] += len(rest)
                out += self._tag(rank, rest + b"\n")
        return out


def consumed_from_log(text: bytes, nodes: int) -> list[int]:
    """Bytes of each rank file that `text` (the log since the attempt began) already holds. A flushed
    last line got a newline the rank file lacks; counting it one byte long is harmless (the rank
    file ended there)."""
    if nodes <= 1:
        return [len(text)]
    consumed = [0] * nodes
    for line in text.splitlines(keepends=True):
        match = _TAG.match(line)
        if match and int(match.group(1)) < nodes and line.endswith(b"\n"):
            consumed[int(match.group(1))] += len(line) - match.end()
    return consumed
