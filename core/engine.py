"""The engine: the only door the CLI and the TUI use to act on runs.

CONTRACT (other modules and the TUI code against these names; change only additively):

    engine = Engine()                      # VESSL_TUI_HOME / VESSL_TUI_CONFIG from the environment
    engine.reconcile() -> list[RunRecord]  # every client calls it at start; returns runs it changed
    engine.plan(path, cluster=None, document=0) -> Plan            # dry run: what submit would do
    engine.submit(path, cluster=None, document=0) -> RunRecord    # validate, resolve, start supervisor
    engine.submit_spec(spec, cluster=None, labels=None, extra_env=None) -> RunRecord
                                           # same, from a RunSpec in memory; `labels` (str->str) are
                                           # stored with the run (serve: service/revision/replica),
                                           # `extra_env` added to the run's env (not secret)
    engine.list_runs(labels={"k": "v"}) filters by labels; RunRecord.labels holds them
    engine.list_runs(include_finished=True, limit=None) -> list[RunRecord]   # newest first
    engine.get(ref) -> RunRecord           # ref: id, unique id prefix, or name (latest run of it)
    engine.stop(ref) -> RunRecord          # asks the supervisor to stop; returns at once
    engine.rerun(ref) -> RunRecord         # a new run from the stored spec
    engine.remove(ref, force=False)        # delete a finished run (force: stop it first)
    engine.read_log(run_id, offset, provisioning=False, limit=1<<20) -> (bytes, next_offset)
    engine.follow_log(run_id, offset=0, provisioning=False, stop=None) -> Iterator[bytes]
                                           # yields chunks until the run is final and the log drained
    engine.wait(ref, timeout=None) -> RunRecord   # until the run's status is final
    engine.events(run_id) -> list[Event]   # status changes and attempts, oldest first
    engine.data_version() -> int           # changes whenever any run/event row changes (cheap poll)
    engine.clusters() -> list[ClusterConfig];  engine.presets() -> list[Preset]
    engine.check_cluster(name) -> ClusterCheck;  engine.backend(name) -> Backend
    engine.run_context(run_id) -> RunContext      # for capabilities (ports, shell, metrics)

Errors a user can act on raise `EngineError` (a subclass of ValueError) with one sentence;
spec problems raise `core.spec.errors.SpecError`. The engine never prints.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

FINAL_STATUSES = frozenset({"succeeded", "failed", "stopped", "terminated", "lost"})
ACTIVE_STATUSES = frozenset({"pending", "provisioning", "running"})
STATUSES = ("pending", "provisioning", "running", "succeeded", "failed", "stopped", "terminated", "lost")


class EngineError(ValueError):
    """A failure the user can act on: unknown run, unknown cluster, nothing fits, … One sentence."""


@dataclass
class RunRecord:
    """A run as stored. Times are UNIX seconds (float) or None; `gpus` is a short summary ("2×A100")."""

    id: str
    name: str
    status: str
    cluster: str
    exit_code: int | None = None
    reason: str | None = None
    created_at: float = 0.0
    started_at: float | None = None
    ended_at: float | None = None
    kind: str | None = None
    gpus: str = "-"
    attempt: int = 1
    ports: list[int] = field(default_factory=list)
    source_file: str | None = None
    preset: str | None = None
    tags: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    handle: dict[str, Any] | None = None
    supervisor_pid: int | None = None
    heartbeat_at: float | None = None

    @property
    def final(self) -> bool:
        return self.status in FINAL_STATUSES

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("handle", None)
        return data


@dataclass
class Event:
    """One line of a run's history: a status change or an attempt, with its reason."""

    run_id: str
    at: float
    kind: str  # "status" | "attempt" | "note"
    status: str | None = None
    message: str | None = None


@dataclass
class Plan:
    """What `submit` would do, for `run --dry-run` and the editor's plan pane."""

    name: str
    cluster: str
    cluster_kind: str
    preset: str | None
    resources: dict[str, Any]
    image: str | None
    commands: list[str]
    volumes: list[str]
    ports: list[int]
    env: dict[str, str]  # secret values shown as ********
    warnings: list[str] = field(default_factory=list)
