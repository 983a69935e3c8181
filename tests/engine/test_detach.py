"""Runs outlive their clients: detach, follow from another client, kill -9, reconcile."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from core.engine import Engine, RunRecord
from tests.conftest import REPO
from tests.engine.helpers import cli, cli_popen, spec, supervisor_gone, until, work_gone

LINES = 40
COUNTING = f"for i in $(seq 1 {LINES}); do echo line $i; sleep 0.05; done"
EXPECTED = "".join(f"line {i}\n" for i in range(1, LINES + 1))


def running(engine: Engine, run_id: str):
    return until(lambda: (r := engine.get(run_id)).status == "running" and r.handle and r, what="the run to be running")


def test_detach_then_follow_from_a_second_client(tmp_path):
    spec_file = tmp_path / "count.yaml"
    spec_file.write_text(f"type: task\nname: count\ncommands:\n  - {COUNTING}\n")
    submitted = cli("run", str(spec_file))
    assert submitted.returncode == 0, submitted.stderr
    run_id = submitted.stdout.strip().splitlines()[-1]
    followed = cli("logs", run_id, "-f")
    assert followed.returncode == 0
    assert followed.stdout == EXPECTED
    assert Engine().get(run_id).status == "succeeded"


def test_kill_9_of_a_following_client_and_of_the_supervisor(engine):
    record = engine.submit_spec(spec(COUNTING, name="survivor"))
    first = running(engine, record.id)
    follower = cli_popen("logs", record.id, "-f", stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    until(lambda: "line 3" in engine.read_log(record.id)[0].decode(), what="some output")
    os.kill(follower.pid, signal.SIGKILL)
    os.kill(first.supervisor_pid, signal.SIGKILL)
    follower.wait(timeout=10)
    until(lambda: supervisor_gone(first), what="the supervisor to die")
    assert engine.get(record.id).status == "running"
    # any client reconciles at start: `vessl-tui logs -f` reattaches a supervisor and follows to the end
    again = cli("logs", record.id, "-f")
    assert again.returncode == 0
    assert again.stdout == EXPECTED
    final = engine.wait(record.id, timeout=60)
    assert (final.status, final.exit_code) == ("succeeded", 0)
    assert final.supervisor_pid != first.supervisor_pid
    assert any("reattached" in (e.message or "") for e in engine.events(record.id))


def test_reconcile_reattaches_and_the_new_supervisor_can_stop_the_run(engine):
    record = engine.submit_spec(spec("echo up; sleep 300", name="reattach", stop_duration=1))
    first = running(engine, record.id)
    os.kill(first.supervisor_pid, signal.SIGKILL)
    until(lambda: supervisor_gone(first), what="the supervisor to die")
    changed = Engine().reconcile()
    assert [r.id for r in changed] == [record.id]
    until(lambda: engine.get(record.id).supervisor_pid not in (None, first.supervisor_pid), what="a new supervisor")
    assert Engine().reconcile() == []  # the new supervisor is alive: nothing to do
    engine.stop(record.id)
    final = engine.wait(record.id, timeout=60)
    assert final.status == "stopped"
    assert engine.read_log(record.id)[0] == b"up\n"


def ended_while_unwatched(engine: Engine, run_spec) -> RunRecord:
    """Submit `run_spec` (its work waits for a file `go`), kill its supervisor, let the work end,
    then reconcile from a new client: the run as reconcile left it."""
    record = engine.submit_spec(run_spec)
    first = running(engine, record.id)
    os.kill(first.supervisor_pid, signal.SIGKILL)
    until(lambda: supervisor_gone(first), what="the supervisor to die")
    (Path(first.handle["work_dir"]) / "go").touch()
    until(lambda: Path(first.handle["exit_file"]).exists(), what="the exit status")
    [changed] = Engine().reconcile()
    return changed


def test_work_that_finished_while_no_supervisor_watched_keeps_its_exit_code(engine):
    changed = ended_while_unwatched(engine, spec("echo waiting; while [ ! -f go ]; do sleep 0.05; done; exit 5",
                                                 name="unwatched"))
    assert (changed.status, changed.exit_code) == ("failed", 5)
    assert "no supervisor" in changed.reason


def test_exports_of_work_that_finished_while_no_supervisor_watched_are_copied(engine, vessl_home):
    from core.spec.runspec import Volume

    run_spec = spec("mkdir -p out; while [ ! -f go ]; do sleep 0.05; done; echo kept > out/result.txt",
                    name="unwatched-export")
    run_spec.volumes = [Volume(kind="export", path="/out", source="volume://storage/out")]
    changed = ended_while_unwatched(engine, run_spec)
    assert (changed.status, changed.exit_code) == ("succeeded", 0)
    assert (vessl_home / "artifacts" / changed.id / "out" / "result.txt").read_text() == "kept\n"


def test_supervisor_and_work_both_gone_is_lost(engine):
    record = engine.submit_spec(spec("sleep 300", name="doomed"))
    first = running(engine, record.id)
    for pid in (first.handle["wrapper_pid"], first.supervisor_pid):
        os.kill(pid, signal.SIGKILL)
    os.killpg(first.handle["pgid"], signal.SIGKILL)
    until(lambda: supervisor_gone(first) and work_gone(first.handle), what="all to die")
    [changed] = Engine().reconcile()
    assert changed.status == "lost"
    assert changed.reason == "its supervisor died and the work is gone"
    shown = cli("ps", "--json")
    assert '"status": "lost"' in shown.stdout


def test_two_clients_and_a_supervisor_write_at_once(engine):
    record = engine.submit_spec(spec("for i in $(seq 1 30); do echo $i; sleep 0.02; done", name="busy"))
    writer = (
        "import sys\n"
        "from core.store import Store\n"
        "store = Store()\n"
        "for i in range(150):\n"
        "    store.add_event(sys.argv[1], 'note', message=f'{sys.argv[2]}-{i}')\n"
        "    store.update_run(sys.argv[1], labels={'writer': sys.argv[2]})\n"
        "    store.list_runs()\n"
    )
    clients = [
        subprocess.Popen([sys.executable, "-c", writer, record.id, name], cwd=REPO, stderr=subprocess.PIPE)
        for name in ("a", "b")
    ]
    for client in clients:
        _, err = client.communicate(timeout=120)
        assert client.returncode == 0, err.decode()
    final = engine.wait(record.id, timeout=60)
    assert final.status == "succeeded"
    notes = [e.message for e in engine.events(record.id) if e.kind == "note" and e.message[0] in "ab"]
    assert sorted(notes) == sorted(f"{w}-{i}" for w in "ab" for i in range(150))
    assert [e.status for e in engine.events(record.id) if e.kind == "status"][-1] == "succeeded"
