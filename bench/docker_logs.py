"""Log ingest of 1M lines from a container: the Docker backend's `stream` into a file (what a run's
supervisor does) against `docker logs CONTAINER > file`, both from the same ended container in this
run, on a private dockerd unless --host is given. Both files must be byte-identical.

Usage: python bench/docker_logs.py [--lines N] [--rounds N] [--host unix:///…]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from docker_start import engine_url  # noqa: E402  (bench/ is on sys.path when run as a script)


def ours(backend, ctx, handle, out: Path) -> float:
    start = time.perf_counter()
    with open(out, "wb") as log:
        for chunk in backend.stream(ctx, handle, 0):
            log.write(chunk)
    return time.perf_counter() - start


def baseline(url: str, container_id: str, out: Path) -> float:
    start = time.perf_counter()
    with open(out, "wb") as log:
        subprocess.run([shutil.which("docker"), "-H", url, "logs", container_id], stdout=log, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--host", help="an engine that already has the test/busybox image")
    args = parser.parse_args()
    if shutil.which("docker") is None:
        sys.exit("the docker CLI is needed for the baseline: install docker.io.")
    from tests.docker.helpers import backend_at, context, spec_of

    with tempfile.TemporaryDirectory(prefix="vt-bench-") as tmp, engine_url(args.host) as url:
        work = Path(tmp)
        backend = backend_at(url)
        ctx = context(spec_of(f"type: task\nimage: test/busybox\ncommands: ['seq 1 {args.lines}']\n"), work, backend)
        backend.prepare(ctx)
        handle = backend.start(ctx)
        try:
            backend.wait(ctx, handle, 600)
            mine, theirs = [], []
            for _ in range(args.rounds):  # interleaved, so drift hits both alike
                mine.append(ours(backend, ctx, handle, work / "ours.log"))
                theirs.append(baseline(url, handle["container_id"], work / "docker.log"))
            same = (work / "ours.log").read_bytes() == (work / "docker.log").read_bytes()
        finally:
            backend.cleanup(ctx, handle)
    a, b = statistics.median(mine), statistics.median(theirs)
    print(f"ingest of {args.lines:,} lines, median of {args.rounds}: vessl-tui {a:.2f} s, docker logs {b:.2f} s, "
          f"ratio {a / b:.2f}x; identical bytes: {same}")


if __name__ == "__main__":
    main()
