"""A Slurm run's life: stop, max_duration, a supervisor killed with -9, a job held pending."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

from core.engine import Engine
from core.spec.runspec import Command, RunSpec
from tests.engine.helpers import alive
from tests.slurm.conftest import task
from tests.support import cli, until


def two_nodes(*commands: str, name: str, **fields) -> RunSpec:
    return RunSpec(kind="dstack-task", name=name, nodes=2, commands=[Command(command=c) for c in commands], **fields)


def log(engine: Engine, run_id: str) -> str:
    return engine.read_log(run_id)[0].decode()


@pytest.fixture
def engine(hpc):
    eng = Engine()
    yield eng
    for record in eng.list_runs(include_finished=False):  # leave no job behind
        eng.stop(record.id)


def test_stop_runs_the_sigterm_handler_on_every_rank_and_ends_the_job(engine, hpc) -> None:
    record = engine.submit_spec(two_nodes(
        "trap 'echo handled TERM on rank $DSTACK_NODE_RANK; exit 0' TERM; echo ready; sleep 300 & wait",
        "echo this must not run", name="stoppable", stop_duration=20), cluster="hpc")
    until(lambda: log(engine, record.id).count("ready") == 2, what="both ranks to start", timeout=60)
    assert hpc.jobs("stoppable")
    done = cli("stop", record.id)
    assert done.returncode == 0, done.stderr
    final = engine.wait(record.id, timeout=60)
    assert final.status == "stopped"
    text = log(engine, record.id)
    assert "[rank 0] handled TERM on rank 0" in text and "[rank 1] handled TERM on rank 1" in text
    assert "this must not run" not in text
    assert hpc.jobs("stoppable") == []


def test_max_duration_terminates_the_job(engine, hpc) -> None:
    record = engine.submit_spec(two_nodes("echo started; sleep 300", name="bounded", max_duration=4, stop_duration=2),
                                cluster="hpc")
    final = engine.wait(record.id, timeout=90)
    assert final.status == "terminated"
    assert final.reason == "max_duration of 4s reached"
    assert log(engine, record.id).count("started") == 2
    assert hpc.jobs("bounded") == []


def test_kill_9_of_the_supervisor_then_a_new_client_reattaches_by_job_id(engine, hpc) -> None:
    counting = "for i in $(seq 1 60); do echo line $i of $DSTACK_NODE_RANK; sleep 0.05; done"
    record = engine.submit_spec(two_nodes("sleep 1", counting, name="survivor"), cluster="hpc")
    first = until(lambda: (r := engine.get(record.id)).handle and "line 3 of" in log(engine, record.id) and r,
                  what="some output", timeout=60)
    os.kill(first.supervisor_pid, signal.SIGKILL)
    until(lambda: not alive(first.supervisor_pid), what="the supervisor to die")
    job = first.handle["job_id"]
    again = cli("logs", record.id, "-f")  # a new client reconciles: a new supervisor reattaches to the job
    assert again.returncode == 0, again.stderr
    final = engine.wait(record.id, timeout=60)
    assert (final.status, final.exit_code) == ("succeeded", 0)
    assert final.supervisor_pid != first.supervisor_pid and final.handle["job_id"] == job
    text = log(engine, record.id)
    for rank in (0, 1):
        assert [l for l in text.splitlines() if l.startswith(f"[rank {rank}]")] == [
            f"[rank {rank}] line {i} of {rank}" for i in range(1, 61)]
    assert any("reattached" in (e.message or "") for e in engine.events(record.id))


def test_a_job_slurm_holds_shows_the_schedulers_reason(engine, hpc, tmp_path: Path) -> None:
    hog = engine.submit_spec(two_nodes("echo hog; sleep 300", name="hog", resources={"gpu": {"count": {"min": 2}}}),
                             cluster="hpc")
    until(lambda: log(engine, hog.id).count("hog") == 2, what="the first job to run", timeout=60)
    waiting = task(tmp_path, "waiter", ["echo finally"], nodes=2, resources={"gpu": 1})
    submitted = cli("run", str(waiting), "--cluster", "hpc")
    assert submitted.returncode == 0, submitted.stderr
    run_id = submitted.stdout.strip().splitlines()[-1]
    until(lambda: (r := engine.get(run_id)).status == "pending" and r.reason == "Slurm: Resources",
          what="the scheduler's reason", timeout=60)
    listed = {r["id"]: r for r in json.loads(cli("ps", "--json").stdout)}
    assert (listed[run_id]["status"], listed[run_id]["reason"]) == ("pending", "Slurm: Resources")
    engine.stop(hog.id)
    final = engine.wait(run_id, timeout=90)
    assert final.status == "succeeded" and final.reason is None
    assert log(engine, run_id).count("finally") == 2


def test_a_node_failure_is_an_interruption_that_retry_covers(engine, hpc) -> None:
    import subprocess

    record = engine.submit_spec(two_nodes(
        'if [ "$VESSL_TUI_ATTEMPT" = 1 ]; then echo first; sleep 300; else echo "second attempt on rank $NODE_RANK"; fi',
        name="resilient", retry={"on_events": ["interruption"], "limit": 2}), cluster="hpc")
    until(lambda: log(engine, record.id).count("first") == 2, what="the first attempt to run", timeout=60)
    try:
        hpc.run("scontrol", "update", "nodename=n2", "state=down", "reason=vessl-test")
        until(lambda: engine.get(record.id).attempt == 2, what="a second attempt", timeout=60)
    finally:
        subprocess.run(["scontrol", "update", "nodename=n2", "state=resume"], env=hpc.env, capture_output=True)
        until(lambda: hpc.run("sinfo", "-h", "-N", "-o", "%N %t").split() == ["n1", "idle", "n2", "idle"]
              or hpc.jobs(), what="n2 back", timeout=60)
    final = engine.wait(record.id, timeout=120)
    assert (final.status, final.attempt) == ("succeeded", 2)
    text = log(engine, record.id)
    assert "[rank 0] second attempt on rank 0" in text and "[rank 1] second attempt on rank 1" in text
    assert any("NODE_FAIL" in (e.message or "") for e in engine.events(record.id))


def test_the_run_outlives_a_scheduler_outage(engine, hpc) -> None:
    import subprocess
    import time

    record = engine.submit_spec(two_nodes("for i in $(seq 1 40); do echo tick $i; sleep 0.25; done", name="steady"),
                                cluster="hpc")
    until(lambda: log(engine, record.id).count("tick 2\n") == 2, what="both ranks to tick", timeout=60)
    pid_file = hpc.folder / "slurmctld.pid"
    pid = int(pid_file.read_text())
    os.kill(pid, signal.SIGTERM)
    try:
        until(lambda: not alive(pid), what="slurmctld to stop", timeout=30)
        provisioning = lambda: engine.read_log(record.id, provisioning=True)[0].decode()  # noqa: E731
        until(lambda: "squeue does not answer" in provisioning(), what="the supervisor to notice", timeout=30)
        time.sleep(1)  # the supervisor keeps asking: an unanswered squeue is not a lost job
    finally:
        subprocess.run(["slurmctld", "-f", str(hpc.conf)], env=hpc.env, check=True, timeout=30)
        until(lambda: subprocess.run(["sinfo", "-h"], env=hpc.env, capture_output=True).returncode == 0,
              what="slurmctld back", timeout=60)
    final = engine.wait(record.id, timeout=120)
    assert (final.status, final.exit_code) == ("succeeded", 0)
    text = log(engine, record.id)
    for rank in (0, 1):
        assert [l for l in text.splitlines() if l.startswith(f"[rank {rank}] tick")] == [
            f"[rank {rank}] tick {i}" for i in range(1, 41)]
