"""Submit -> first log line on the local cluster: `Engine.submit_spec` until the run's log has its
first line, against `bash -c` started directly until its first line arrives. Measured both ways a
supervisor starts: forked by the supervisor server (the default) and as a new Python process
(VESSL_TUI_SUPERVISOR_SERVER=0). Rounds are interleaved; medians are printed.

Usage: python bench/submit_latency.py [--rounds N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import time

from _common import fresh_home


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    fresh_home()
    from core.engine import Engine
    from core.spec.runspec import Command, RunSpec

    engine = Engine()
    spec = RunSpec(kind="dstack-task", name="latency", commands=[Command(command="echo first")])

    def ours(server: bool) -> float:
        os.environ["VESSL_TUI_SUPERVISOR_SERVER"] = "1" if server else "0"
        start = time.perf_counter()
        record = engine.submit_spec(spec)
        while not engine.read_log(record.id)[0]:
            time.sleep(0.0005)
        took = time.perf_counter() - start
        engine.wait(record.id)
        return took

    def baseline() -> float:
        start = time.perf_counter()
        proc = subprocess.Popen(["bash", "-c", "echo first"], stdout=subprocess.PIPE)
        proc.stdout.readline()
        took = time.perf_counter() - start
        proc.wait()
        return took

    ours(True), ours(True), ours(False)  # warm the page cache; the first run starts the server
    time.sleep(2)  # the server imports before it serves
    served, plain, bash = [], [], []
    for _ in range(args.rounds):
        served.append(ours(True))
        plain.append(ours(False))
        bash.append(baseline())
    a, b, c = (statistics.median(x) * 1000 for x in (served, plain, bash))
    print(f"submit -> first log line, median of {args.rounds}: forked supervisor {a:.1f} ms "
          f"(range {min(served) * 1000:.1f}-{max(served) * 1000:.1f}), new supervisor process {b:.1f} ms, "
          f"bash -c {c:.1f} ms; ratios to bash -c: {a / c:.1f}x and {b / c:.1f}x; forked is {b / a:.1f}x faster")


if __name__ == "__main__":
    main()
