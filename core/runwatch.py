"""Waiting on a run without polling: a `RunWatch` wakes as soon as anything in the run's folder changes.

Everything a client waits for is a write in the run's folder, so one kernel watch (inotify) on it
wakes every waiter: `logs.follow`, `Engine.wait` and the TUI's log tail.

    new log bytes       output.log is appended (by the work itself, or the supervisor's pump)
    a status change     every writer of a status (the supervisor, the engine's reconcile) appends a
                        line to provision.log after the store's row changed
    the supervisor died the kernel closes its supervisor.lock, open for writing (kill -9 included)
    the run removed     the folder goes

    with RunWatch(folder) as watch:
        while not ready():
            watch.wait(timeout)      # True when woken by a change, False when `timeout` passed

Every wait is bounded by its caller's `timeout`. Without inotify (another OS, the folder removed,
or the per-user limit of inotify instances reached) `wait` sleeps with a bounded back-off instead
(FALLBACK_FIRST to FALLBACK_MAX seconds): correct, only slower. A folder not made yet is watched
from the first wait that finds it (that wait returns True at once). (watchfiles is not used here: its
watch loop itself sleeps `step` milliseconds between looks and returns after two quiet steps.)
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from types import TracebackType

FALLBACK_FIRST = 0.02
FALLBACK_MAX = 0.25


class RunWatch:
    """A watch on one folder (see the module's contract). Close it (or use `with`) when done."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.gone = False  # the folder was removed (or never existed): waits fall back to sleeping
        self._delay = FALLBACK_FIRST
        self._inotify = None
        self._missing = False  # the folder was not there yet: each wait looks whether it came
        self._arm()

    def _arm(self) -> bool:
        """Watch the folder; False (sleeping waits) when inotify is missing or the folder is."""
        try:
            from inotify_simple import flags

            inotify = _take()
        except (ImportError, OSError, AttributeError):  # no inotify here, or the instance limit reached
            return False
        mask = (flags.MODIFY | flags.CLOSE_WRITE | flags.CREATE | flags.MOVED_TO | flags.DELETE
                | flags.DELETE_SELF | flags.MOVE_SELF)
        try:
            self._wd = inotify.add_watch(self.folder, mask)
        except OSError:  # no such folder (yet, or any more), or the watch limit reached
            _give_back(inotify, None)
            self.gone = self._missing = True
            return False
        self._inotify = inotify
        self._ignored = int(flags.IGNORED | flags.DELETE_SELF | flags.MOVE_SELF)
        self.gone = self._missing = False
        return True

    @property
    def pushed(self) -> bool:
        """True when changes wake this watch (inotify), False when it sleeps between looks."""
        return self._inotify is not None

    def wait(self, timeout: float) -> bool:
        """Block until something in the folder changes (True) or `timeout` seconds pass (False).
        Changes that came since the last wait return at once."""
        timeout = max(0.0, timeout)
        if self._inotify is None:
            if self._missing and self.folder.is_dir() and self._arm():
                return True  # the folder came: what was written in it is new
            time.sleep(min(self._delay, timeout))
            self._delay = min(FALLBACK_MAX, self._delay * 1.5)
            return False
        deadline = time.monotonic() + timeout
        while True:  # events of an earlier watch of a reused instance (its IGNORED after the removal) are not ours
            read = self._inotify.read(timeout=int(max(0.0, deadline - time.monotonic()) * 1000))
            events = [event for event in read if event.wd == self._wd]
            if events or not read or time.monotonic() >= deadline:
                break
        if any(event.mask & self._ignored for event in events):
            _give_back(self._inotify, None)  # the kernel removed the watch with the folder
            self._inotify, self.gone = None, True
        return bool(events)

    def close(self) -> None:
        if self._inotify is not None:
            _give_back(self._inotify, self._wd)
            self._inotify = None

    def __enter__(self) -> "RunWatch":
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


# Closing an inotify instance blocks for a kernel grace period (≈ 10-15 ms here), removing a watch
# does not: a closed RunWatch hands its instance back, without its watch, for the next one.
_IDLE_KEPT = 4
_idle: list = []
_idle_lock = threading.Lock()


def _take() -> "INotify":  # noqa: F821 (inotify_simple's, imported here on first use)
    with _idle_lock:
        if _idle:
            return _idle.pop()
    from inotify_simple import INotify

    return INotify()


def prepare() -> None:
    """Make a watch instance ready for the next RunWatch (inotify imported, an instance opened), for a
    client with time to spare now, e.g. while a server submits the run it will follow."""
    with _idle_lock:
        if _idle:
            return
    try:
        inotify = _take()
    except (ImportError, OSError, AttributeError):  # no inotify here: RunWatch will sleep between looks
        return
    _give_back(inotify, None)


def _give_back(inotify: "INotify", wd: int | None) -> None:  # noqa: F821
    if wd is not None:
        try:
            inotify.rm_watch(wd)
        except OSError:  # already removed by the kernel (the folder went)
            pass
    with _idle_lock:
        if len(_idle) < _IDLE_KEPT:
            _idle.append(inotify)
            return
    inotify.close()
