"""Shared by the bench scripts: a throwaway VESSL_TUI_HOME and the CLI as a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
# As installed for users, Python keeps compiled bytecode: with PYTHONDONTWRITEBYTECODE (set on some
# machines) every process these benches start would compile our modules and the libraries again.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)


def fresh_home() -> Path:
    home = Path(tempfile.mkdtemp(prefix="vessl-bench-"))
    os.environ["VESSL_TUI_HOME"] = str(home / "home")
    os.environ["VESSL_TUI_CONFIG"] = str(home / "config.yaml")
    return home


def cli(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "core.cli.main", *args], cwd=REPO, **kwargs)


def timed(func, repeat: int = 1) -> float:
    """The best of `repeat` wall times of `func()`, in seconds."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - start)
    return best


def report(what: str, ours: float, baseline: float, baseline_name: str) -> None:
    print(f"{what}: ours {ours * 1000:.1f} ms, {baseline_name} {baseline * 1000:.1f} ms, "
          f"ratio baseline/ours = {baseline / ours:.2f}x (ours takes {ours / baseline:.2f}x the baseline)")


def process_times(argv: list[str], **kwargs) -> tuple[float, float]:
    """(wall, CPU) seconds of one whole process run to its end (CPU: user + system of it and the
    children it waited for; a detached supervisor is not counted)."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, check=True, **kwargs)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def spread(values: list[float]) -> str:
    """min / median / max of seconds, in ms."""
    import statistics

    return f"{min(values) * 1000:.0f} / {statistics.median(values) * 1000:.0f} / {max(values) * 1000:.0f} ms"


def report_spread(what: str, ours: list[float], baseline: list[float], baseline_name: str, target: str = "") -> None:
    """One line: ours and the baseline as min / median / max, and the ratio of the medians."""
    import statistics

    ratio = statistics.median(ours) / statistics.median(baseline)
    print(f"{what} (min / median / max of {len(ours)}): ours {spread(ours)}; {baseline_name} {spread(baseline)}; "
          f"ratio of medians {ratio:.2f}x" + (f" (target {target})" if target else ""))
