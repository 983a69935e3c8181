"""Submit -> the first log line of both ranks of a two-node job on a real Slurm (a private two-node
cluster on this host, tests/fixtures/slurm.py), against a bare `sbatch --wrap` of the same command.

Ours: `Engine.submit` of a dstack task with `nodes: 2` (validation against sinfo, store row,
detached supervisor, the batch script written, sbatch, squeue, rank files merged into the run's
log) until the log holds the first line of rank 0 and of rank 1.
Baseline: `sbatch --parsable --nodes=2 --ntasks-per-node=1 --wrap "srun --output=…-%t.log …"`
of the same command, its two rank files polled the same way (every 5 ms) until both hold the line.
Both measured in this run, interleaved (each one first in turn), each round on an idle cluster;
Slurm's own scheduling pass (it starts jobs up to a few seconds after submission) is in both, and
is most of both.

Usage: python bench/slurm_submit.py [--rounds N]           Target: ratio <= 1.3x.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

COMMAND = 'echo "first-$SLURM_NODEID"; sleep 1'
POLL_S = 0.005


def ours(work: Path, index: int) -> float:
    from core.engine import Engine

    spec = work / f"spec{index}.yaml"
    spec.write_text(f"type: task\nname: bench-{index}\nnodes: 2\ncommands: ['{COMMAND}']\n")
    engine = Engine()
    start = time.perf_counter()
    record = engine.submit(spec, cluster="bench")
    while True:
        log = engine.read_log(record.id, 0)[0]
        if b"[rank 0] first-0\n" in log and b"[rank 1] first-1\n" in log:
            break
        time.sleep(POLL_S)
    took = time.perf_counter() - start
    engine.wait(record.id, timeout=120)
    return took


def baseline(work: Path, env: dict[str, str], index: int) -> float:
    out = work / f"wrap-{index}"
    out.mkdir()
    start = time.perf_counter()
    subprocess.run(["sbatch", "--parsable", "--nodes=2", "--ntasks-per-node=1", f"--output={out}/batch.log",
                    "--wrap", f"srun --output={out}/rank-%t.log bash -c '{COMMAND}'"],
                   env=env, check=True, capture_output=True)
    files = [out / "rank-0.log", out / "rank-1.log"]
    while not all(f.exists() and f.read_bytes().startswith(f"first-{i}\n".encode()) for i, f in enumerate(files)):
        time.sleep(POLL_S)
    took = time.perf_counter() - start
    return took


def idle(env: dict[str, str]) -> None:
    while subprocess.run(["squeue", "-h", "-o", "%i"], env=env, capture_output=True, text=True).stdout.strip():
        time.sleep(0.1)


def settle(env: dict[str, str]) -> None:
    """No job in the queue, and the nodes idle for a moment (each round starts alike)."""
    idle(env)
    time.sleep(1.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    from tests.fixtures.slurm import running_slurm

    with tempfile.TemporaryDirectory(prefix="vt-bench-") as tmp, running_slurm() as cluster:
        work = Path(tmp)
        os.chmod(work, 0o755)
        os.environ["VESSL_TUI_HOME"] = str(work / "home")
        os.environ["VESSL_TUI_CONFIG"] = str(work / "config.yaml")
        (work / "config.yaml").write_text(f"clusters:\n  bench: {{kind: slurm, slurm_conf: '{cluster.conf}'}}\n")
        env = cluster.env
        ours(work, 0), idle(env), baseline(work, env, 0)  # warm-up: imports, the supervisor server
        time.sleep(2)
        settle(env), ours(work, 100)  # the first run the supervisor server forks (it imported by now)
        mine, theirs = [], []
        for index in range(1, args.rounds + 1):  # interleaved, each first in turn: drift and the
            for first in ((True, False) if index % 2 else (False, True)):  # scheduler's phase hit both alike
                settle(env)
                if first:
                    mine.append(ours(work, index))
                else:
                    theirs.append(baseline(work, env, index))
    a, b = statistics.median(mine), statistics.median(theirs)
    print(f"submit -> first line of both ranks (2 nodes), median of {args.rounds}: vessl-tui {a * 1000:.0f} ms, "
          f"sbatch --wrap {b * 1000:.0f} ms, ratio {a / b:.2f}x (target <= 1.3x); "
          f"ours {', '.join(f'{x * 1000:.0f}' for x in mine)} ms; bare {', '.join(f'{x * 1000:.0f}' for x in theirs)} ms")


if __name__ == "__main__":
    main()
