"""Helpers for engine tests: RunSpecs built in Python, the CLI as a real subprocess, waiting."""

from __future__ import annotations

import os
import subprocess
import sys

from core.spec.runspec import Command, EnvVar, RunSpec
from tests.conftest import REPO
from tests.support import cli, until  # noqa: F401  (engine tests import them from here)


def spec(*commands: str, name: str = "t", env: dict[str, str] | None = None, **fields) -> RunSpec:
    return RunSpec(
        kind="vessl-run",
        name=name,
        commands=[Command(command=c) for c in commands],
        env=[EnvVar(name=k, value=v) for k, v in (env or {}).items()],
        **fields,
    )


def cli_popen(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "core.cli.main", *args], cwd=REPO, **kwargs)


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


def supervisor_gone(record) -> bool:
    """The run's supervisor is dead as reconcile judges it: its pid gone and the run's lock dropped
    (the other threads of a killed process hold its descriptors a moment after the main thread died)."""
    from core.supervisor import supervisor_alive

    return not alive(record.supervisor_pid) and not supervisor_alive(record.id, record.supervisor_pid)


def work_gone(handle: dict) -> bool:
    """No process of a local run's work lives any more (as reconcile judges it: not even one still exiting)."""
    from core.backends.local import work_state

    return work_state(handle)[0] != "running"
