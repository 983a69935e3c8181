"""Cold `vessl-tui ps` (a new process listing 50 runs) against `python -c pass`. Target: <= 3x.

Both run with Python's bytecode cache on, as an installed package runs (PYTHONDONTWRITEBYTECODE,
if set here, would make every `ps` compile our modules again). Also printed: `ps --help`, which
takes the click path (the plain forms of `ps` do not import click). Rounds are interleaved;
medians of wall time and of CPU time (user + system, less sensitive to a busy machine).

Usage: python bench/cold_ps.py [--rounds N]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time

from _common import REPO, fresh_home


def run(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall, cpu) seconds of one process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, cwd=REPO, env=env, stdout=subprocess.DEVNULL, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    fresh_home()
    from core.store import Store

    store = Store()
    for i in range(50):
        store.insert_run({"id": f"{i:08x}", "name": f"run-{i}", "status": "succeeded", "cluster": "local",
                          "created_at": time.time() - i, "exit_code": 0})
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    commands = {
        "ps": [sys.executable, "-m", "core.cli.main", "ps", "--all"],
        "ps --help": [sys.executable, "-m", "core.cli.main", "ps", "--help"],
        "python -c pass": [sys.executable, "-c", "pass"],
    }
    for argv in commands.values():  # warm the page cache and the bytecode cache
        run(argv, env)
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for _ in range(args.rounds):
        for name, argv in commands.items():
            samples[name].append(run(argv, env))
    wall = {name: statistics.median(s[0] for s in v) * 1000 for name, v in samples.items()}
    cpu = {name: statistics.median(s[1] for s in v) * 1000 for name, v in samples.items()}
    base_wall, base_cpu = wall["python -c pass"], cpu["python -c pass"]
    print(f"cold start, median of {args.rounds} (wall / cpu): python -c pass {base_wall:.1f} / {base_cpu:.1f} ms")
    for name in ("ps", "ps --help"):
        print(f"  vessl-tui {name}: {wall[name]:.1f} / {cpu[name]:.1f} ms, "
              f"ratio {wall[name] / base_wall:.2f}x / {cpu[name] / base_cpu:.2f}x (target <= 3x)")


if __name__ == "__main__":
    main()
