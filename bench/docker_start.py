"""Docker run -> first log line, as a user waits for it: the whole `vessl-tui run --follow` process
against the whole `docker run` process of the same image and command, on the same engine (a
private dockerd unless --host is given), rounds interleaved.

Ours: `vessl-tui run spec.yaml -c bench --follow` (a new process: imports, validation, store row,
the run's supervisor forked by the supervisor server, image check, container create/start, log
streaming) until its first stdout line. Baseline: `docker run --rm --network host test/busybox sh -c
'echo first; …'` until its first stdout line.

Also printed: the Docker backend alone in this process (prepare, start, first output), which
separates the container work from the cost of the client and the supervisor, and ours with the
supervisor started as a new Python process (VESSL_TUI_SUPERVISOR_SERVER=0).

Usage: python bench/docker_start.py [--rounds N] [--host unix:///…]      Target: ratio <= 1.2x.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from _common import report_spread, spread  # noqa: E402

CLIENT = [shutil.which("vessl-tui", path=str(REPO / ".venv" / "bin")) or sys.executable,
          *([] if shutil.which("vessl-tui", path=str(REPO / ".venv" / "bin")) else ["-m", "core.cli.main"])]
IMAGE = "test/busybox"
CLIENT_CPU: list[float] = []
COMMAND = "echo first; sleep 0.2"


def engine_url(host: str | None):
    from tests.fixtures.dockerd import private_dockerd

    return contextlib.nullcontext(host) if host else private_dockerd()


def ours(url: str, work: Path, index: int, server: bool = True) -> float:
    """Seconds from starting `vessl-tui run --follow` to its first stdout line (then it runs to its
    end); the client process's CPU seconds are added to CLIENT_CPU."""
    spec = work / f"spec{index}.yaml"
    spec.write_text(f"type: task\nname: bench-{index}\nimage: {IMAGE}\ncommands: ['{COMMAND}']\n")
    env = {**os.environ, "VESSL_TUI_SUPERVISOR_SERVER": "1" if server else "0"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.Popen([*CLIENT, "run", str(spec), "-c", "bench", "--follow"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, env=env)
    assert proc.stdout is not None and proc.stdout.readline() == b"first\n"
    took = time.perf_counter() - start
    assert proc.wait(timeout=60) == 0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CLIENT_CPU.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
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
        CLIENT_CPU.clear()
        for index in range(1, args.rounds + 1):  # interleaved, so drift hits all alike
            mine.append(ours(url, work, index))
            theirs.append(baseline(url))
            inner.append(backend_only(url, work))
            plain.append(ours(url, work, 1000 + index, server=False))
    report_spread("docker run -> first log line, whole processes", mine, theirs, "docker run", "<= 1.2x")
    print(f"  CPU of the vessl-tui client process (both variants): {spread(CLIENT_CPU)}")
    report_spread("  the Docker backend alone, in-process (no client, no supervisor)", inner, theirs, "docker run")
    report_spread("  ours with the supervisor as a new process (VESSL_TUI_SUPERVISOR_SERVER=0)", plain, theirs, "docker run")


if __name__ == "__main__":
    main()
