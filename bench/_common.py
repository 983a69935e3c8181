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
