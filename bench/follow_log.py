"""`vessl-tui run --follow` of a run printing 1,000,000 lines, as a user runs it (a whole process:
submit, the run, every line streamed to stdout, exit with the run's code), against the same pipeline
written straight to a file. Rounds alternate; wall and CPU time (ours: the client process only; the
supervisor and the work are detached). Target: ratio <= 2x.

Usage: python bench/follow_log.py [--rounds N]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys

from _common import REPO, fresh_home, process_times, report_spread

LINES = 1_000_000
PIPELINE = f"seq 1 {LINES} | sed 's/^/line /'"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    home = fresh_home()
    spec = home / "flood.yaml"
    spec.write_text(f"type: task\nname: flood\ncommands:\n  - \"{PIPELINE}\"\n")
    script = shutil.which("vessl-tui", path=str(REPO / ".venv" / "bin")) or shutil.which("vessl-tui")
    ours_argv = [script] if script else [sys.executable, "-m", "core.cli.main"]
    out = home / "followed.log"

    def ours() -> tuple[float, float]:
        with open(out, "wb") as sink:
            times = process_times([*ours_argv, "run", str(spec), "--follow"], stdout=sink)
        with open(out, "rb") as fh:
            assert sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b"")) == LINES
        return times

    def baseline() -> tuple[float, float]:
        return process_times(["bash", "-c", f"{PIPELINE} > {home / 'plain.log'}"])

    ours(), baseline()  # warm: page cache, bytecode, the supervisor server
    mine, theirs = [], []
    for _ in range(args.rounds):
        mine.append(ours())
        theirs.append(baseline())
    what = f"run --follow, {LINES:,} lines"
    report_spread(what + ", wall", [m[0] for m in mine], [t[0] for t in theirs], "pipeline > file", "<= 2x")
    report_spread(what + ", CPU of the process", [m[1] for m in mine], [t[1] for t in theirs], "pipeline > file")
    subprocess.run([*ours_argv, "ps", "--all"], stdout=subprocess.DEVNULL)


if __name__ == "__main__":
    main()
