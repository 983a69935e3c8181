"""The SSH test area runs against a private, real OpenSSH server (see tests/fixtures/sshd.py)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from core import sshconn
from core.backends.base import ExitInfo, RunContext
from core.backends.ssh import SshBackend
from core.config import ClusterConfig
from core.spec.runspec import Command, EnvVar, RunSpec
from tests.fixtures.sshd import Sshd, sshd  # noqa: F401

__all__ = ["sshd"]


@pytest.fixture(autouse=True)
def fresh_connections() -> Any:
    """Each test starts without shared connections (as a new client process would)."""
    sshconn.close_all()
    yield
    sshconn.close_all()


@pytest.fixture
def cluster(sshd: Sshd) -> ClusterConfig:  # noqa: F811
    return ClusterConfig(name="box", **sshd.cluster())


@pytest.fixture
def backend(cluster: ClusterConfig) -> SshBackend:
    return SshBackend(cluster)


def spec_of(*commands: str, env: dict[str, str] | None = None, secrets: dict[str, str] | None = None,
            **fields: Any) -> RunSpec:
    env_vars = [EnvVar(name=k, value=v) for k, v in (env or {}).items()]
    env_vars += [EnvVar(name=k, value=v, secret=True) for k, v in (secrets or {}).items()]
    return RunSpec(kind="vessl-run", name="t", commands=[Command(command=c) for c in commands], env=env_vars, **fields)


class Run:
    """One run attempt driven the way a supervisor drives it: the log appended from `stream`."""

    def __init__(self, backend: SshBackend, cluster: ClusterConfig, tmp_path: Path, spec: RunSpec, run_id: str):
        run_dir = tmp_path / "runs" / run_id
        run_dir.mkdir(parents=True)
        self.provisioning: list[str] = []
        self.backend = backend
        self.ctx = RunContext(run_id=run_id, spec=spec, cluster=cluster, run_dir=run_dir,
                              log_path=run_dir / "log", provision=self.provisioning.append,
                              artifacts_dir=run_dir / "artifacts")
        self.handle: dict[str, Any] = {}
        self._streamer: threading.Thread | None = None

    def start(self) -> "Run":
        self.backend.prepare(self.ctx)
        self.handle = self.backend.start(self.ctx)
        self._streamer = threading.Thread(target=self._stream, daemon=True)
        self._streamer.start()
        return self

    def _stream(self) -> None:
        offset = self.ctx.log_path.stat().st_size if self.ctx.log_path.exists() else 0
        with open(self.ctx.log_path, "ab") as log:
            for chunk in self.backend.stream(self.ctx, self.handle, offset):
                log.write(chunk)
                log.flush()

    @property
    def log(self) -> str:
        return self.ctx.log_path.read_text() if self.ctx.log_path.exists() else ""

    def wait_log(self, text: str, timeout: float = 30.0) -> None:
        end = time.monotonic() + timeout
        while text not in self.log:
            assert time.monotonic() < end, f"{text!r} never appeared in the log: {self.log!r}"
            time.sleep(0.05)

    def wait(self, timeout: float = 60.0) -> ExitInfo:
        info = self.backend.wait(self.ctx, self.handle, timeout)
        assert info is not None, "the run did not end in time"
        if self._streamer is not None:
            self._streamer.join(timeout)
        return info


@pytest.fixture
def start_run(backend: SshBackend, cluster: ClusterConfig, tmp_path: Path) -> Any:
    counter = iter(range(1000))
    runs: list[Run] = []

    def start(spec: RunSpec, run_id: str | None = None, on: SshBackend | None = None) -> Run:
        run = Run(on or backend, cluster, tmp_path, spec, run_id or f"run{next(counter)}-{time.time_ns()}")
        runs.append(run)
        return run.start()

    yield start
    for run in runs:
        if run.handle:
            try:
                backend.cleanup(run.ctx, run.handle)
            except Exception:  # noqa: BLE001 - best effort after a failed test
                pass
