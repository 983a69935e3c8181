"""A run's metric series as stored beside its log (see `core.curves.files`), read incrementally and
kept bounded for plotting.

Both JSON-lines files hold `{"step": 10, "loss": 0.3, ...}` per line; a line without a step takes
its order in the file. A metric named in `reported.jsonl` wins over one of the same name parsed from
the log. `Series` keeps every point's exact last/min/max but at most `max_points` points (every
k-th, k doubling as the series grows): plots stay bounded whatever a run prints; `raw_points`
yields the full series. At most MAX_METRICS names per source are held (`left_out` counts the rest).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from core.curves.files import LOG_METRICS, REPORTED
from core.curves.parse import STEP_KEYS

MAX_POINTS = 2000
MAX_METRICS = 100  # series per source held for plotting; a log naming more is not a training curve
READ_LIMIT = 4 << 20  # bytes read per file per poll: a huge backlog is taken in steps


@dataclass
class Series:
    """One metric: bounded points for plotting and exact summary figures."""

    name: str
    max_points: int = MAX_POINTS
    steps: list[float] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    count: int = 0
    stride: int = 1
    last: float | None = None
    last_step: float | None = None
    min: float | None = None
    max: float | None = None

    def add(self, step: float, value: float) -> None:
        self.count += 1
        self.last, self.last_step = value, step
        if not math.isnan(value):
            self.min = value if self.min is None or value < self.min else self.min
            self.max = value if self.max is None or value > self.max else self.max
        if (self.count - 1) % self.stride == 0:
            self.steps.append(step)
            self.values.append(value)
            if len(self.steps) > self.max_points:
                self.steps, self.values = self.steps[::2], self.values[::2]
                self.stride *= 2

    def points(self) -> tuple[list[float], list[float]]:
        """The kept points, and the newest one even when the stride skipped it."""
        if (self.count - 1) % self.stride == 0 or self.last_step is None:
            return self.steps, self.values
        return self.steps + [self.last_step], self.values + [self.last]  # type: ignore[list-item]


def numbers(obj: object) -> tuple[float | None, dict[str, float]]:
    """(step, metrics) of one JSON line: numbers only (bools and text are not metrics); the step is
    `step`, else `global_step`, `iteration`, `iter`, `epoch`, as in the log parser."""
    if not isinstance(obj, dict):
        return None, {}
    found = {key: value for key, value in obj.items()
             if isinstance(value, (int, float)) and not isinstance(value, bool)}
    step = next((found[key] for key in STEP_KEYS if key in found), None)
    return step, {str(key): float(value) for key, value in found.items() if key not in STEP_KEYS}


class JsonLines:
    """Reads one JSON-lines file from a byte cursor; keeps an unfinished last line for later."""

    def __init__(self, path: Path):
        self.path = path
        self.offset = 0
        self.partial = b""
        self.ordinal = 0

    def read(self, limit: int = READ_LIMIT) -> Iterator[tuple[float, dict[str, float]]]:
        try:
            with open(self.path, "rb") as fh:
                fh.seek(self.offset)
                data = fh.read(limit)
        except FileNotFoundError:
            return
        self.offset += len(data)
        data = self.partial + data
        end = data.rfind(b"\n")
        self.partial = data[end + 1:]
        for line in data[:end + 1].splitlines():
            if not line.strip():
                continue
            try:
                step, values = numbers(json.loads(line))
            except ValueError:
                continue  # a line that is not JSON: skipped, never fatal
            if not values:
                continue
            self.ordinal += 1
            yield (self.ordinal if step is None else step), values


class CurveReader:
    """The series of one run, updated by `poll()` from where the last poll stopped."""

    def __init__(self, run_dir: Path, max_points: int = MAX_POINTS):
        self.run_dir = run_dir
        self.max_points = max_points
        self.sources = {"log": JsonLines(run_dir / LOG_METRICS), "file": JsonLines(run_dir / REPORTED)}
        self.by_source: dict[str, dict[str, Series]] = {"log": {}, "file": {}}
        self.left_out: set[str] = set()  # names beyond MAX_METRICS per source (kept on disk, not here)

    def poll(self) -> bool:
        """Read what was appended since the last poll; True when any point was added."""
        changed = False
        for source, lines in self.sources.items():
            table = self.by_source[source]
            for step, values in lines.read():
                changed = True
                for name, value in values.items():
                    series = table.get(name)
                    if series is None:
                        if len(table) >= MAX_METRICS:
                            self.left_out.add(name)
                            continue
                        series = table[name] = Series(name, self.max_points)
                    series.add(step, value)
        return changed

    def series(self) -> dict[str, Series]:
        """Every metric by name, sorted; the run's own file wins over the log for a name."""
        merged = dict(self.by_source["log"])
        merged.update(self.by_source["file"])
        return dict(sorted(merged.items()))


def raw_points(run_dir: Path) -> Iterator[tuple[str, float, float]]:
    """(metric, step, value) of every stored point: the log's metrics, then the run's own file
    (names the file reports are not repeated from the log)."""
    reported = JsonLines(run_dir / REPORTED)
    file_points: list[tuple[str, float, float]] = []
    names: set[str] = set()
    while True:
        before = reported.offset
        for step, values in reported.read():
            for name, value in values.items():
                names.add(name)
                file_points.append((name, step, value))
        if reported.offset == before:
            break
    log = JsonLines(run_dir / LOG_METRICS)
    while True:
        before = log.offset
        for step, values in log.read():
            for name, value in values.items():
                if name not in names:
                    yield name, step, value
        if log.offset == before:
            break
    yield from file_points
