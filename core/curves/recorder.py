"""The supervisor's side of metrics: parse a run's output as it is ingested and store the series.

    tap = CurveTap(ctx, backend, handle); tap.start()   (the supervisor, once the work runs)
    tap.finish()                                       (once the run is final: drain, save, join)

A thread follows `output.log` from the saved cursor as it is written (by the work itself on local
processes, by the supervisor's pump for Docker, SSH and Slurm): every byte is parsed once, and
`metrics.state.json` keeps the cursor, so a supervisor that takes over a run continues where the
last one stopped. The run's own file (`$VESSL_TUI_METRICS`) is written in the run's folder (local)
or copied there by a backend with `ReportedMetrics` (a container, a remote host, Slurm's shared
folder); the thread follows it for the last values. `finish` is called once the run is final, so a
backlog is parsed after the run's end rather than holding it back; the state file then says
`complete`.

`VESSL_TUI_LOG_METRICS=0` in the supervisor's environment turns log parsing off (the run's own
file is still read).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import math
import os
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.curves.parse import MAX_KEYS, LogParser, Record
from core.curves.files import LOG_METRICS, REPORTED, STATE, complete, write_state
from core.curves.series import JsonLines

if TYPE_CHECKING:
    from core.backends.base import Backend, RunContext

SAVE_EVERY = 0.5  # seconds between state saves while points arrive
READ_CHUNK = 1 << 16  # bytes parsed per call: the regex engine holds the GIL while it runs
ENV_VAR = "VESSL_TUI_METRICS"
COPY_DRAIN_SECONDS = 30.0
NICE = 10  # the follower thread's CPU niceness (Linux: per thread)


def _json_number(value: float) -> str:
    """A number as JSON text (Python's json reads NaN and Infinity back)."""
    if value != value:
        return "NaN"
    if value in (math.inf, -math.inf):
        return "Infinity" if value > 0 else "-Infinity"
    return repr(value)


def parsing_enabled() -> bool:
    return os.environ.get("VESSL_TUI_LOG_METRICS", "1").strip().lower() not in ("0", "off", "false", "no")


class CurveRecorder:
    """Parsed log records -> metrics.jsonl; last values of both sources -> metrics.state.json.
    Thread-safe: the pump and the follower may call it at once."""

    def __init__(self, run_dir: Path, parse_log: bool = True):
        self.run_dir = run_dir
        self.parse_log = parse_log
        try:
            state = json.loads((run_dir / STATE).read_text())
        except (OSError, ValueError):
            state = {}
        self.log_offset = int(state.get("log_offset", 0))
        self.metrics_size = self._cut_beyond_cursor(state)
        self.parser = LogParser(ordinal=int(state.get("ordinal", 0)))
        self.reported = JsonLines(run_dir / REPORTED)
        self.reported.offset = int(state.get("reported_offset", 0))
        self.reported.ordinal = int(state.get("reported_ordinal", 0))
        self.last: dict[str, float] = dict(state.get("last") or {})
        self.lock = threading.Lock()
        self.fd: int | None = None
        self.saved_at = 0.0
        self.dirty = False
        self.json_keys: dict[str, str] = {}
        self.closed = False

    def _cut_beyond_cursor(self, state: dict[str, Any]) -> int:
        """Records written after the last state save belong to log bytes past the saved cursor,
        which are parsed again: cut them off so that no point is stored twice. Returns the size."""
        path = self.run_dir / LOG_METRICS
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            return 0
        if "log_offset" in state and "log_metrics_size" not in state:
            return size  # a state file that predates the size: kept as it is
        saved = int(state.get("log_metrics_size", 0))
        if size > saved:
            os.truncate(path, saved)
            return saved
        return size

    def log(self, data: bytes) -> None:
        """Parse log bytes that follow the ones given before (appended at `log_offset`)."""
        if not data:
            return
        records = self.parser.feed(data) if self.parse_log else []
        with self.lock:
            self.log_offset += len(data)
            if records:
                if self.fd is None:
                    self.fd = os.open(self.run_dir / LOG_METRICS, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                self.metrics_size += os.write(self.fd, "".join(map(self.encode, records)).encode())
                for record in records:
                    self.last.update(record.values)
                self.dirty = True
            self._maybe_save()

    def encode(self, record: Record) -> str:
        """One JSON line, as json.dumps would write it (NaN and Infinity included), made faster:
        the keys' JSON is kept once per name."""
        keys = self.json_keys
        parts = ['{"step": ', _json_number(record.step)]
        for name, value in record.values.items():
            key = keys.get(name)
            if key is None:
                key = f", {json.dumps(name)}: "
                if len(keys) < MAX_KEYS:
                    keys[name] = key
            parts += [key, _json_number(value)]
        parts.append("}\n")
        return "".join(parts)

    def catch_up(self, log_path: Path) -> bool:
        """Parse what the log holds beyond the cursor; True when anything was read."""
        read = False
        while True:
            try:
                with open(log_path, "rb") as fh:
                    fh.seek(self.log_offset)
                    data = fh.read(READ_CHUNK)
            except FileNotFoundError:
                return read
            if not data:
                return read
            read = True
            self.log(data)

    def reported_appended(self) -> bool:
        """Take the new lines of the run's own file; True when anything was read."""
        before = self.reported.offset
        with self.lock:
            for _step, values in self.reported.read():
                self.last.update(values)
                self.dirty = True
            self._maybe_save()
        return self.reported.offset != before

    def _maybe_save(self, force: bool = False) -> None:
        now = time.monotonic()
        if force or (self.dirty and now - self.saved_at >= SAVE_EVERY):
            write_state(self.run_dir, {
                "log_offset": self.log_offset - len(self.parser.partial),
                "log_metrics_size": self.metrics_size,
                "ordinal": self.parser.ordinal,
                "reported_offset": self.reported.offset - len(self.reported.partial),
                "reported_ordinal": self.reported.ordinal,
                "last": self.last,
                "complete": self.closed,
            })
            self.saved_at, self.dirty = now, False

    def close(self) -> None:
        """Save the state for the last time, marked complete (see `files.complete`)."""
        with self.lock:
            self.closed = True
            self._maybe_save(force=True)
            if self.fd is not None:
                os.close(self.fd)
                self.fd = None


def settle(run_dir: Path, log_path: Path) -> None:
    """Store what a final run's log and file hold past the saved cursor, for a run whose supervisor
    died before it stored its last point (a client calls it: nothing else would). One caller at a
    time; the state file says `complete` afterwards."""
    lock = os.open(run_dir / (STATE + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if complete(run_dir):
            return
        recorder = CurveRecorder(run_dir, parse_log=parsing_enabled())
        recorder.catch_up(log_path)
        recorder.reported_appended()
        recorder.close()
    finally:
        os.close(lock)


class CurveTap:
    """The threads that feed a CurveRecorder for one run attempt (see the module docstring)."""

    def __init__(self, ctx: "RunContext", backend: "Backend", handle: dict[str, Any]):
        self.ctx = ctx
        self.backend = backend
        self.handle = handle
        self.recorder = CurveRecorder(ctx.run_dir, parse_log=parsing_enabled())
        self.ended = threading.Event()
        self.threads: list[threading.Thread] = []

    def start(self) -> None:
        self._thread(self._follow, "curves-follow")
        from core.backends.base import ReportedMetrics

        if isinstance(self.backend, ReportedMetrics):
            self._thread(self._copy_reported, "curves-copy")

    def _thread(self, target, name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self.threads.append(thread)

    def _follow(self) -> None:
        """Read new bytes of the log and of the run's own file, with a back-off while quiet, until
        `finish` and both are drained. The thread runs at a low CPU priority: the work and the
        log's own ingest go first, parsing takes the time they leave."""
        with contextlib.suppress(OSError, AttributeError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICE)
        delay = 0.05
        while True:
            ended = self.ended.is_set()  # read before draining: nothing written before the end is missed
            try:
                got = self.recorder.catch_up(self.ctx.log_path)
                got = self.recorder.reported_appended() or got
            except Exception as exc:  # noqa: BLE001 - the run and its log go on without curves
                self.ctx.provision(f"metrics parsing stopped: {exc}")
                return
            if got:
                delay = 0.05
                continue
            if ended:
                return
            self.ended.wait(delay)
            delay = min(0.5, delay * 1.5)

    def _copy_reported(self) -> None:
        """Append the run's own file, as the backend brings it back, to `reported.jsonl`."""
        path = self.ctx.run_dir / REPORTED
        offset = path.stat().st_size if path.exists() else 0
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            for chunk in self.backend.stream_reported(self.ctx, self.handle, offset):  # type: ignore[attr-defined]
                os.write(fd, chunk)
        except Exception as exc:  # the run goes on; its log still carries what it prints
            self.ctx.provision(f"copying {ENV_VAR} back stopped: {exc}")
        finally:
            os.close(fd)

    def finish(self, drain: float = COPY_DRAIN_SECONDS) -> None:
        """The work ended: wait for the copies (up to `drain` seconds) and the follower to drain,
        then save."""
        for thread in self.threads:
            if thread.name == "curves-copy":
                thread.join(drain)
                if thread.is_alive():
                    self.ctx.provision(f"{ENV_VAR}: the copy did not finish in {drain:g}s; "
                                       "what it brought is kept")
        self.ended.set()
        for thread in self.threads:
            if thread.name != "curves-copy":
                thread.join()
        self.recorder.close()
