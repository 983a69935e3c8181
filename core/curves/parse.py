"""Training metrics out of what a run already prints: pure, incremental, bytes in, records out.

    LogParser().feed(data: bytes) -> list[Record]     complete lines of `data` (plus what an earlier
                                                      call left unfinished); the rest waits
    parse_line(text) -> dict[str, float] | None       the pairs of one line (tests, the file reader)

A metric is a `key=value` or `key: value` pair whose value is a plain number (`0.5`, `-3`, `5e-05`,
`nan`) standing alone: Hugging Face Trainer's dict lines (`{'loss': 2.31, 'epoch': 0.5}`), Lightning's
progress bars (`loss=0.523, v_num=0`), Keras (`- loss: 0.2936 - accuracy: 0.9150`), plain prints
(`step=10 loss=0.3`), JSON lines. Not metrics: a number glued to a unit or a symbol (`3s`, `45%`,
`44.1it/s`, `450/1000`), dotted and colon-separated numbers (versions `1.2.3`, IPs `10.0.0.1`,
times `12:30:01`, ports `host:8080`), keys that name a setting rather than a measure (`port`,
`pid`, `version`, `v_num`, `seed`, `rank`, ...), and keys that do not start with a letter.

A record's step is the line's `step`, else `global_step`, else `iteration`/`iter`, else `epoch`
(that key is not a series of its own), else the line's order among metric lines (1, 2, ...).
Lines end at `\\n` or `\\r` (progress bars repaint with `\\r`); a repaint that repeats the previous
record's values is dropped. A line longer than MAX_LINE bytes is skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_LINE = 64 * 1024

#: key (quoted or not), `=` or `:`, a number standing alone. The key is matched atomically (lookahead
#: + backreference) so that a word that is not followed by a separator costs one attempt.
_PAIR = re.compile(
    rb"""(?<![\w.'"/\\-])['"]?(?=(?P<key>[A-Za-z_][\w./-]{0,63}))(?P=key)['"]?[ \t]*[:=][ \t]*"""
    rb"""([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|[-+]?(?:nan|inf|NaN|Inf))"""
    rb"""(?![\w.%:/'"-]|,\d)"""
)

#: The pair, or the end of a line (findall yields (newline, key, value) tuples).
_PAIR_OR_LINE = re.compile(rb"(\n)|" + _PAIR.pattern)
_UNSEEN = object()
MAX_KEYS = 4096  # distinct raw keys remembered (a cache: bounded)

#: A separator followed by what may start a number: the lines worth a full scan.
_CANDIDATES = (
    re.compile(rb"=[ \t]*['\"]?[-+.\dnNiI]"),
    re.compile(rb":(?<![0-9]:)[ \t]*['\"]?[-+.\dnNiI]"),
)

STEP_KEYS = ("step", "global_step", "iteration", "iter", "epoch")
_STEP_SET = frozenset(STEP_KEYS)

#: Keys that name a setting, an identity or a clock, not a measure.
IGNORED_KEYS = frozenset({
    "pid", "ppid", "port", "v_num", "version", "seed", "rank", "local_rank", "global_rank",
    "node_rank", "world_size", "id", "job_id", "uid", "gid", "year", "month", "day", "hour",
    "minute", "minutes", "second", "seconds", "time", "timestamp", "date", "eta", "elapsed",
    "line", "lineno", "num_workers", "workers", "gpu", "gpus", "device", "cuda", "nccl", "http",
    "https", "exit_code", "code", "status", "errno",
})


@dataclass
class Record:
    """One line's metrics: `step` (the line's own, or its order) and name -> value."""

    step: float
    values: dict[str, float]


def _number(raw: bytes) -> float:
    """An int for plain integers (steps print as `10`, not `10.0`), else a float (as `feed` does inline)."""
    return int(raw) if raw.isdigit() else float(raw)


def pairs(line: bytes) -> dict[str, float]:
    """Every metric pair of one line, keys lowered, in order; a repeated key keeps its last value."""
    found: dict[str, float] = {}
    for match in _PAIR.finditer(line):
        key = _key(match.group(1))
        if key is not None:
            found[key] = _number(match.group(2))
    return found


def split_step(found: dict[str, float]) -> tuple[float | None, dict[str, float]]:
    """(the step a line names, its other values)."""
    step = None
    for key in STEP_KEYS:
        if key in found:
            step = found[key]
            break
    if step is None:
        return None, found
    return step, {k: v for k, v in found.items() if k not in _STEP_SET}


def parse_line(text: str) -> dict[str, float] | None:
    """The metrics of one line as {"step"?: s, name: value}, or None when it has none."""
    step, values = split_step(pairs(text.encode("utf-8", "replace")))
    if not values:
        return None
    return ({"step": step} if step is not None else {}) | values


class LogParser:
    """Turns a byte stream into Records, a chunk at a time; keeps only an unfinished line."""

    def __init__(self, ordinal: int = 0):
        self.partial = b""
        self.ordinal = ordinal  # metric lines seen so far (the step of lines that name none)
        self.last: dict[str, float] | None = None
        self.keys: dict[bytes, str | None] = {}

    def feed(self, data: bytes) -> list[Record]:
        buf = self.partial + data if self.partial else data
        if b"\r" in buf:  # progress bars repaint with \r: each repaint is a line
            buf = buf.replace(b"\r", b"\n")
        end = buf.rfind(b"\n")
        if end < 0:
            self.partial = buf if len(buf) <= MAX_LINE else b""
            return []
        self.partial = buf[end + 1:]
        if len(self.partial) > MAX_LINE:
            self.partial = b""
        lines = candidate_lines(buf, end + 1)
        if not lines:
            return []
        records: list[Record] = []
        found: dict[str, float] = {}
        steps: dict[str, float] = {}
        keys = self.keys
        for newline, raw_key, raw_value in _PAIR_OR_LINE.findall(b"\n".join(lines) + b"\n"):
            if newline:
                if found:
                    self._emit(found, steps, records)
                    found = {}
                if steps:
                    steps = {}
                continue
            key = keys.get(raw_key, _UNSEEN)
            if key is _UNSEEN:
                key = _key(raw_key)
                if len(keys) < MAX_KEYS:
                    keys[raw_key] = key
            if key is None:
                continue
            value = int(raw_value) if raw_value.isdigit() else float(raw_value)
            if key in _STEP_SET:
                steps[key] = value
            else:
                found[key] = value
        return records

    def _emit(self, values: dict[str, float], steps: dict[str, float], records: list[Record]) -> None:
        step = None
        if steps:
            step = next(steps[key] for key in STEP_KEYS if key in steps)
        elif values == self.last:
            return  # a progress bar repainted with the same numbers
        self.last = values
        self.ordinal += 1
        records.append(Record(self.ordinal if step is None else step, values))


def candidate_lines(buf: bytes, stop: int) -> list[bytes]:
    """The lines of `buf[:stop]` where a separator is followed by what may start a number (`=0.5`,
    `: 3e-4`, `":1`; not a clock's `12:30`), in order, each at most MAX_LINE bytes. Each search
    starts with a literal byte, which the regex engine finds at memchr speed: a chunk without any
    candidate costs two scans."""
    spans: dict[int, int] = {}
    for candidate in _CANDIDATES:
        match = candidate.search(buf, 0, stop)
        while match is not None:
            pos = match.start()
            start = buf.rfind(b"\n", 0, pos) + 1
            end = buf.find(b"\n", pos, stop)
            if end < 0:
                end = stop
            spans[start] = end
            match = candidate.search(buf, end, stop)
    if len(spans) > 1:
        spans = dict(sorted(spans.items()))
    return [buf[start:end] for start, end in spans.items() if end - start <= MAX_LINE]


def _key(raw: bytes) -> str | None:
    """The series name of a raw key (lowered), or None for a key that is not a measure."""
    key = raw.decode("ascii", "replace").rstrip("./-").lower()
    return None if not key or key in IGNORED_KEYS else key
