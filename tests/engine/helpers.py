"""Helpers for engine tests: RunSpecs built in Python, the CLI as a real subprocess, waiting."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable

from core.spec.runspec import Command, EnvVar, RunSpec
from tests.conftest import REPO


def spec(*commands: str, name: str = "t", env: dict[str, str] | None = None, **fields) -> RunSpec:
    return RunSpec(
        kind="vessl-run",
        name=name,
        commands=[Command(command=c) for c in commands],
        env=[EnvVar(name=k, value=v) for k, v in (env or {}).items()],
        **fields,
    )


def cli(*args: str, timeout: float = 60, **kwargs) -> subprocess.CompletedProcess:
    """`vessl-tui ARGS` as a real process (same VESSL_TUI_HOME / VESSL_TUI_CONFIG as the test)."""
    return subprocess.run(
        [sys.executable, "-m", "core.cli.main", *args],
        cwd=REPO, capture_output=True, text=True, timeout=timeout, **kwargs,
    )


def cli_popen(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "core.cli.main", *args], cwd=REPO, **kwargs)


def until(predicate: Callable[[], object], timeout: float = 30, what: str = "condition") -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
