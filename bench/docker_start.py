"""Submit -> first log line of a run on a Docker cluster, against `docker run` of the same image and
command, both measured in this run on the same engine (a private dockerd unless --host is given).

Ours: `Engine.submit` of a dstack task (store row, detached supervisor forked by the supervisor
server, image check, container create/start, log streaming) until its first line is in the run's
log. Baseline: the docker CLI's `docker run --rm --network host test/busybox sh -c 'echo first'`
until its first stdout line.

Also printed: the Docker backend alone in this process (prepare, start, first output), which
separates the container work from the cost of starting the run's supervisor, and ours with the
supervisor started as a new Python process (VESSL_TUI_SUPERVISOR_SERVER=0).

Usage: python bench/docker_start.py [--rounds N] [--host unix:///…]      Target: ratio <= 1.2x.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

IMAGE = "test/busybox"
COMMAND = "echo first; sleep 0.2"


def engine_url(host: str | None):
    from tests.fixtures.dockerd import private_dockerd

    return contextlib.nullcontext(host) if host else private_dockerd()


def ours(url: str, work: Path, index: int, server: bool = True) -> float:
    from core.engine import Engine

    os.environ["VESSL_TUI_SUPERVISOR_SERVER"] = "1" if server else "0"
    spec = work / f"spec{index}.yaml"
    spec.write_text(f"type: task\nname: bench-{index}\nimage: {IMAGE}\ncommands: ['{COMMAND}']\n")
    engine = Engine()
    start = time.perf_counter()
    record = engine.submit(spec, cluster="bench")
    while not engine.read_log(record.id, 0)[0].startswith(b"first\n"):
        time.sleep(0.005)
    took = time.perf_counter() - start
    engine.wait(record.id, timeout=60)
    engine.remove(record.id)
    return took


def backend_only(url: str, work: Path) -> float:
    """The Docker backend alone, in this process: prepare, start, first chunk of output."""
    from tests.docker.helpers import backend_at, context, spec_of

    backend = backend_at(url)
    ctx = context(spec_of(f"type: task\nimage: {IMAGE}\ncommands: ['{COMMAND}']\n"), work, backend)
    start = time.perf_counter()
    backend.prepare(ctx)
    handle = backend.start(ctx)
    next(backend.stream(ctx, handle, 0))
    took = time.perf_counter() - start
    backend.cleanup(ctx, handle)
    return took


def baseline(url: str) -> float:
    docker_cli = shutil.which("docker")
    start = time.perf_counter()
    proc = subprocess.Popen([docker_cli, "-H", url, "run", "--rm", "--network", "host", IMAGE, "sh", "-c", COMMAND],
                            stdout=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdout.readline() == b"first\n"
    took = time.perf_counter() - start
    proc.wait()
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--host", help="an engine that already has the test/busybox image")
    args = parser.parse_args()
    if shutil.which("docker") is None:
        sys.exit("the docker CLI is needed for the baseline: install docker.io.")
    with tempfile.TemporaryDirectory(prefix="vt-bench-") as tmp, engine_url(args.host) as url:
        work = Path(tmp)
        os.environ["VESSL_TUI_HOME"] = str(work / "home")
        os.environ["VESSL_TUI_CONFIG"] = str(work / "config.yaml")
        (work / "config.yaml").write_text(f"clusters:\n  bench: {{kind: docker, host: '{url}'}}\n")
        ours(url, work, 0), baseline(url)  # warm-up: page cache, image layers, the supervisor server
        time.sleep(2)  # the supervisor server imports before it serves
        mine, theirs, inner, plain = [], [], [], []
        for index in range(1, args.rounds + 1):  # interleaved, so drift hits all alike
            mine.append(ours(url, work, index))
            theirs.append(baseline(url))
            inner.append(backend_only(url, work))
            plain.append(ours(url, work, 1000 + index, server=False))
    a, b, c, d = (statistics.median(x) for x in (mine, theirs, inner, plain))
    print(f"submit -> first log line, median of {args.rounds}: vessl-tui {a * 1000:.0f} ms, "
          f"docker run {b * 1000:.0f} ms, ratio {a / b:.2f}x (target <= 1.2x); the backend alone "
          f"(no supervisor process) {c * 1000:.0f} ms, ratio {c / b:.2f}x; with the supervisor as a new "
          f"process (VESSL_TUI_SUPERVISOR_SERVER=0) {d * 1000:.0f} ms, ratio {d / b:.2f}x")


if __name__ == "__main__":
    main()
