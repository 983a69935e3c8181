"""Waiters are woken by the run's own writes (core.runwatch), not by a timer: with the fallback
timers set to an hour, following a run and waiting for its end still return when the run ends."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading

import pytest

from core import engine as engine_module
from core import logs
from core.runwatch import RunWatch
from tests.engine.helpers import spec

HOUR = 3600.0


def later(action, seconds: float = 0.2) -> threading.Timer:
    timer = threading.Timer(seconds, action)
    timer.start()
    return timer


def test_a_write_in_the_folder_wakes_the_watch_and_quiet_times_out(tmp_path):
    with RunWatch(tmp_path) as watch:
        assert watch.pushed
        assert watch.wait(0.05) is False  # nothing changed
        later(lambda: (tmp_path / "output.log").open("ab").write(b"line\n"))
        assert watch.wait(HOUR) is True


def test_a_killed_writer_wakes_the_watch(tmp_path):
    """The supervisor's lock is open for writing: its death (kill -9) is a change in the folder."""
    holder = subprocess.Popen([sys.executable, "-c", "import os, sys, time; os.open(sys.argv[1], os.O_RDWR | os.O_CREAT);"
                               "print('held', flush=True); time.sleep(600)", str(tmp_path / "supervisor.lock")],
                              stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline() == b"held\n"
        with RunWatch(tmp_path) as watch:
            later(lambda: os.kill(holder.pid, signal.SIGKILL))
            assert watch.wait(HOUR) is True
    finally:
        holder.kill()
        holder.wait()


def test_removing_the_folder_wakes_the_watch(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    with RunWatch(folder) as watch:
        later(lambda: shutil.rmtree(folder))
        assert watch.wait(HOUR) is True
        assert watch.gone


def test_a_missing_folder_falls_back_to_bounded_sleeps(tmp_path):
    with RunWatch(tmp_path / "absent") as watch:
        assert not watch.pushed
        assert watch.wait(0.01) is False


def test_a_folder_made_after_the_watch_is_watched_from_then_on(tmp_path):
    """A client may start watching a run before its folder exists: once the folder is there, the
    next wait says so and later writes wake the watch (no sleeping back-off from then on)."""
    folder = tmp_path / "run"
    with RunWatch(folder) as watch:
        assert watch.wait(0.01) is False and not watch.pushed
        folder.mkdir()
        assert watch.wait(HOUR) is True and watch.pushed
        later(lambda: (folder / "output.log").open("ab").write(b"line\n"))
        assert watch.wait(HOUR) is True


def test_a_submitted_run_has_its_folder_before_its_supervisor_starts(engine, monkeypatch):
    """Whoever follows a run right after its submit watches its folder from the first byte, even
    when its supervisor has not started yet (here: not started at all)."""
    monkeypatch.setattr(engine, "_spawn_supervisor", lambda run_id, payload: None)
    record = engine.submit_spec(spec("true", name="early"))
    with RunWatch(engine.home / "runs" / record.id) as watch:
        assert watch.pushed


@pytest.mark.timeout(120)
def test_follow_and_wait_end_with_the_run_not_with_a_timer(engine, monkeypatch):
    monkeypatch.setattr(logs, "IDLE_SECONDS", HOUR)
    monkeypatch.setattr(engine_module, "RECONCILE_SECONDS", HOUR)
    record = engine.submit_spec(spec("sleep 0.5; for i in $(seq 1 2000); do echo line $i; done; sleep 0.5; echo last",
                                     name="pushed"))
    text = b"".join(engine.follow_log(record.id)).decode()
    assert text.splitlines()[:2000] == [f"line {i}" for i in range(1, 2001)] and text.endswith("last\n")
    assert engine.wait(record.id).status == "succeeded"
    other = engine.submit_spec(spec("sleep 1", name="waited"))
    assert engine.wait(other.id).status == "succeeded"


def test_a_watch_after_a_closed_one_wakes_only_for_its_own_folder(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    with RunWatch(first) as watch:
        (first / "x").write_text("1")
        assert watch.wait(HOUR) is True
    with RunWatch(second) as watch:  # takes the instance the first one handed back
        (first / "y").write_text("2")  # the first folder is not watched any more
        assert watch.wait(0.3) is False
        later(lambda: (second / "z").write_text("3"))
        assert watch.wait(HOUR) is True
