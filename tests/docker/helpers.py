"""Drive a DockerBackend through a run's life the way the supervisor does, for backend tests."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path

from core.backends.base import ExitInfo, RunContext
from core.backends.docker import DockerBackend
from core.config import ClusterConfig
from core.data.exports import after_run
from core.spec import load_text
from core.spec.runspec import RunSpec


def backend_at(url: str, **options) -> DockerBackend:
    return DockerBackend(ClusterConfig(name="test-docker", kind="docker", host=url, options=options))


def spec_of(text: str, file: Path | None = None) -> RunSpec:
    (document,) = load_text(text, str(file) if file else "spec.yaml")
    assert document.spec is not None, [p.format() for p in document.problems]
    return document.spec


@dataclass
class Provisioning:
    lines: list[str] = field(default_factory=list)

    def __call__(self, line: str) -> None:
        self.lines.append(line)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def context(spec: RunSpec, tmp_path: Path, backend: DockerBackend, run_id: str | None = None) -> RunContext:
    run_id = run_id or f"t{uuid.uuid4().hex[:10]}"
    run_dir = tmp_path / run_id
    run_dir.mkdir(parents=True, exist_ok=True)
    return RunContext(run_id=run_id, spec=spec, cluster=backend.cluster, run_dir=run_dir,
                      log_path=run_dir / "output.log", provision=Provisioning(),
                      artifacts_dir=run_dir / "artifacts")


def pump(backend: DockerBackend, ctx: RunContext, handle: dict) -> None:
    """Append the run's output to its log file from where the file ends, like the supervisor."""
    offset = ctx.log_path.stat().st_size if ctx.log_path.exists() else 0
    with open(ctx.log_path, "ab") as log:
        for chunk in backend.stream(ctx, handle, offset):
            log.write(chunk)


def execute(backend: DockerBackend, ctx: RunContext, timeout: float = 120) -> tuple[ExitInfo, str, dict]:
    """prepare, start, stream, wait, finish and deliver the exports: (exit, log text, handle). The
    caller cleans up."""
    backend.prepare(ctx)
    handle = backend.start(ctx)
    pump(backend, ctx, handle)
    info = backend.wait(ctx, handle, timeout)
    assert info is not None, "the container did not end in time"
    failures = after_run(backend, ctx, handle, lambda status, message: ctx.provision(f"{status}: {message}"))
    assert not failures, failures
    return info, ctx.log_path.read_text(), handle
