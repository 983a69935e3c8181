"""Faults of clients: several writing at once, and clients killed with -9 while runs go on.
Every line a run printed is checked by number; a client's stderr must hold no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO
from tests.support import until

CLIENTS = 4
RUNS_PER_CLIENT = 3
LINES = 30


def counting(tmp_path: Path, name: str, lines: int = LINES, pause: float = 0.01) -> Path:
    spec = tmp_path / f"{name}.yaml"
    spec.write_text(f"type: task\nname: {name}\ncommands:\n"
                    f"  - for i in $(seq 1 {lines}); do echo {name} $i; sleep {pause}; done\n")
    return spec


def missing_lines(log: str, name: str, lines: int = LINES) -> int:
    """How many of the numbered lines `name 1` .. `name N` are not in `log` exactly once, in order."""
    expected = [f"{name} {i}" for i in range(1, lines + 1)]
    got = log.splitlines()
    return len(expected) - sum(1 for a, b in zip(expected, got) if a == b) + abs(len(got) - len(expected))


def test_several_clients_submit_list_and_stop_at_once(engine, tmp_path, fault):
    report = fault("clients writing at once")
    script = (
        "import sys, subprocess\n"
        "for spec in sys.argv[1:]:\n"
        "    r = subprocess.run([sys.executable, '-m', 'core.cli.main', 'run', spec], capture_output=True, text=True)\n"
        "    sys.stdout.write(r.stdout); sys.stderr.write(r.stderr)\n"
        "    l = subprocess.run([sys.executable, '-m', 'core.cli.main', 'ps', '--json'], capture_output=True, text=True)\n"
        "    sys.stderr.write(l.stderr)\n"
    )
    names = [[f"c{c}r{r}" for r in range(RUNS_PER_CLIENT)] for c in range(CLIENTS)]
    clients = [
        subprocess.Popen([sys.executable, "-c", script, *(str(counting(tmp_path, n)) for n in group)],
                         cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for group in names
    ]
    run_ids = []
    for client in clients:
        out, err = client.communicate(timeout=120)
        report.check_text(err, "a client's stderr")
        if "database is locked" in err or client.returncode != 0:
            report.failed += 1
            report.notes.append(err[-500:])
        run_ids += out.split()
    for run_id in run_ids:
        report.tried += 1
        final = engine.wait(run_id, timeout=60)
        if final.status != "succeeded":
            report.failed += 1
            report.notes.append(f"{final.id}: {final.status} {final.reason}")
        report.lost += missing_lines(engine.read_log(run_id)[0].decode(), final.name)
    report.lost += CLIENTS * RUNS_PER_CLIENT - len(run_ids)
    report.assert_clean()


def test_kill_9_of_clients_during_20_runs(engine, tmp_path, fault):
    """20 runs, each with a `run --follow` client and a `logs -f` client killed with -9 part-way:
    every run succeeds and every numbered line is in its log once, in order."""
    import os
    import random
    import signal
    import time

    report = fault("kill -9 of clients during 20 runs")
    rng = random.Random(14)
    run_ids: list[str] = []
    killed = []
    for n in range(20):
        name = f"k{n}"
        follower = subprocess.Popen([sys.executable, "-m", "core.cli.main", "run", str(counting(tmp_path, name, 40, 0.02)),
                                     "--follow"], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        others = [subprocess.Popen([sys.executable, "-m", "core.cli.main", "logs", "-f", run_ids[-1]], cwd=REPO,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)] if run_ids else []
        until(lambda: [r for r in engine.list_runs() if r.name == name] or follower.poll() is not None,
              timeout=60, what="the client to submit")
        time.sleep(rng.uniform(0.0, 0.6))  # then killed at some moment of submitting, starting or following
        for client in (follower, *others):
            os.kill(client.pid, signal.SIGKILL)
            killed.append(client)
        found = [r.id for r in engine.list_runs() if r.name == name]
        if found:
            run_ids.append(found[0])
    for client in killed:
        client.wait(timeout=30)
        report.check_text(client.stderr.read() if client.stderr else None, "a killed client's stderr")
    report.lost += 20 - len(run_ids)  # a run the killed client never submitted counts as lost work
    for run_id in run_ids:
        report.tried += 1
        final = engine.wait(run_id, timeout=60)
        if final.status != "succeeded":
            report.failed += 1
            report.notes.append(f"{run_id}: {final.status} {final.reason}")
        report.lost += missing_lines(engine.read_log(run_id)[0].decode(), final.name, 40)
    report.assert_clean()
