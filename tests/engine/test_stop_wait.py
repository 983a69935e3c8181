"""`stop` waits for a final state like `docker stop`; long-lived clients reconcile by themselves."""

from __future__ import annotations

import json
import os
import signal
import subprocess

from core.engine import Engine
from tests.engine.helpers import alive, cli, cli_popen, spec, until

SLOW_TO_STOP = "trap 'sleep 1; echo cleaned; exit 3' TERM; echo up; while true; do sleep 0.1; done"


def running(engine: Engine, run_id: str):
    return until(lambda: (r := engine.get(run_id)).status == "running" and r.handle and r, what="the run to be running")


def test_stop_returns_once_the_run_has_stopped(engine):
    record = engine.submit_spec(spec(SLOW_TO_STOP, name="slow-stop", stop_duration=5))
    running(engine, record.id)
    until(lambda: b"up" in engine.read_log(record.id)[0], what="the work to start")
    stopped = cli("stop", record.id)
    assert stopped.returncode == 0, stopped.stderr
    assert stopped.stdout == f"{record.id} stopped\n"
    shown = json.loads(cli("ps", "--json").stdout)
    assert [r["status"] for r in shown if r["id"] == record.id] == ["stopped"]
    assert engine.read_log(record.id)[0].endswith(b"cleaned\n")  # the trap ran before stop returned


def test_stop_no_wait_returns_at_once_and_ps_says_stopping(engine):
    record = engine.submit_spec(spec(SLOW_TO_STOP, name="no-wait", stop_duration=5))
    running(engine, record.id)
    until(lambda: b"up" in engine.read_log(record.id)[0], what="the work to start")
    asked = cli("stop", "--no-wait", record.id)
    assert (asked.returncode, asked.stdout) == (0, f"{record.id} stopping\n")
    listing = cli("ps").stdout
    row = [line for line in listing.splitlines() if line.startswith(record.id)]
    assert row and row[0].split()[2] in ("stopping", "stopped"), listing
    assert engine.wait(record.id, timeout=30).status == "stopped"


def test_stop_that_does_not_finish_in_time_says_so_and_exits_1(engine, monkeypatch):
    record = engine.submit_spec(spec("echo up; sleep 300", name="frozen", stop_duration=0.5))
    first = running(engine, record.id)
    os.kill(first.supervisor_pid, signal.SIGSTOP)  # alive (holds its lock) but deaf to the stop
    try:
        monkeypatch.setenv("VESSL_TUI_STOP_MARGIN", "1")
        late = cli("stop", record.id, timeout=60)
        assert late.returncode == 1
        assert late.stderr.startswith(f"error: run {record.id} did not stop within 1.5 s"), late.stderr
        assert "still stopping" in late.stderr and "Traceback" not in late.stderr
    finally:
        os.kill(first.supervisor_pid, signal.SIGCONT)
    assert engine.wait(record.id, timeout=30).status == "stopped"


def test_follow_ends_with_the_reconciled_status_when_supervisor_and_work_die(engine, tmp_path):
    spec_file = tmp_path / "doomed.yaml"
    spec_file.write_text("type: task\nname: doomed\ncommands:\n  - echo up; sleep 300\n")
    follower = cli_popen("run", str(spec_file), "--follow", stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    run_id = until(lambda: [r.id for r in engine.list_runs() if r.name == "doomed"], what="the run")[0]
    first = running(engine, run_id)
    until(lambda: b"up" in engine.read_log(run_id)[0], what="the work to start")
    for pid in (first.handle["wrapper_pid"], first.supervisor_pid):  # the wrapper first: no exit status
        os.kill(pid, signal.SIGKILL)
    os.killpg(first.handle["pgid"], signal.SIGKILL)
    out, err = follower.communicate(timeout=60)
    assert follower.returncode == 1
    assert out == b"up\n"
    assert f"run {run_id} lost: its supervisor died and the work is gone" in err.decode()


def test_logs_follow_reattaches_a_dead_supervisor_and_sees_the_end(engine):
    record = engine.submit_spec(spec("for i in $(seq 1 30); do echo line $i; sleep 0.1; done", name="orphan"))
    first = running(engine, record.id)
    follower = cli_popen("logs", "-f", record.id, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    until(lambda: b"line 2\n" in engine.read_log(record.id)[0], what="some output")
    os.kill(first.supervisor_pid, signal.SIGKILL)
    until(lambda: not alive(first.supervisor_pid), what="the supervisor to die")
    out, err = follower.communicate(timeout=60)
    assert follower.returncode == 0, err
    assert out.decode() == "".join(f"line {i}\n" for i in range(1, 31))
    final = engine.get(record.id)
    assert (final.status, final.exit_code) == ("succeeded", 0)  # reattached, or found ended by reconcile
