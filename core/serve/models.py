"""Serve data: services, revisions, replicas, and the checks a revision spec must pass.

A *service* groups revisions and owns one endpoint. A *revision* is an immutable recipe (a
`RunSpec` of kind `vessl-revision` or `dstack-service`, with `service` set) numbered 1, 2, … per
service. Its *replicas* are supervised runs of that spec, each with its own `$PORT` (where replicas
share a network) and `$VESSL_TUI_REPLICA` index.

Revision status: created, starting, running, scaling, stopped, failed.
Replica status: starting (run submitted, not ready), ready, restarting (waiting out a backoff),
stopping, stopped, failed.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any

REVISION_STATUSES = ("created", "starting", "running", "scaling", "stopped", "failed")
ACTIVE_REVISION = frozenset({"starting", "running", "scaling"})
REPLICA_STATUSES = ("starting", "ready", "restarting", "stopping", "stopped", "failed")

#: Metric names the autoscaler follows, with the aliases VESSL and dstack use for them.
METRICS = {
    "cpu": "cpu",
    "memory": "memory",
    "gpu": "gpu",
    "nvidia.com/gpu": "gpu",
    "rps": "rps",
    "requests": "rps",
    "inflight": "inflight",
}
PERCENT_METRICS = frozenset({"cpu", "memory", "gpu"})
SERVE_KINDS = frozenset({"vessl-revision", "dstack-service"})

_PORT_REF = re.compile(r"\$\{?PORT\b")


class ServeError(ValueError):
    """A serve action the user can correct: one sentence, what happened and what to do."""


@dataclass
class Revision:
    """One stored revision. `spec_json` is the redacted RunSpec; `desired` the replica count wanted."""

    service: str
    number: int
    message: str | None
    status: str
    desired: int
    min_replicas: int
    max_replicas: int
    metric: str | None
    target: float | None
    cluster: str | None
    spec_json: str
    created_at: float
    reason: str | None = None
    ready: int = 0
    restarts: int = 0

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_REVISION

    @property
    def autoscale_label(self) -> str:
        """`cpu 80%`, `rps 5`, or `-` without a metric."""
        if not self.metric or self.target is None:
            return "-"
        target = int(self.target) if float(self.target).is_integer() else self.target
        return f"{self.metric} {target}{'%' if self.metric in PERCENT_METRICS else ''}"

    def spec(self):
        from core.spec.runspec import RunSpec

        return RunSpec.model_validate_json(self.spec_json)

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("spec_json")
        return data


@dataclass
class Replica:
    """One replica of a revision: the run behind it, where it listens (`host`:`port` on its cluster's
    side), where the endpoint reaches it from this machine (`address`), and how it has fared."""

    service: str
    revision: int
    index: int
    status: str
    run_id: str | None = None
    host: str = "127.0.0.1"
    port: int | None = None
    restarts: int = 0
    last_exit: str | None = None
    updated_at: float = 0.0
    address: str | None = None

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Service:
    """A service: its endpoint (while its process runs) and the traffic weights of its revisions."""

    name: str
    created_at: float
    endpoint_url: str | None = None
    endpoint_port: int | None = None
    pid: int | None = None
    heartbeat_at: float | None = None
    weights: dict[int, float] = field(default_factory=dict)
    dataplane: str | None = None  # "haproxy" or "aiohttp" while the endpoint serves

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["weights"] = {str(k): v for k, v in self.weights.items()}
        return data


@dataclass
class ServeEvent:
    """A line of a service's history: a decision of the autoscaler, a restart, an action."""

    service: str
    revision: int | None
    at: float
    kind: str  # "action" | "scale" | "replica" | "endpoint"
    message: str


def canonical_metric(name: str | None) -> str | None:
    """The metric's canonical name, or raise ServeError for one the autoscaler cannot follow."""
    if name is None:
        return None
    key = str(name).strip().lower()
    if key not in METRICS:
        known = ", ".join(sorted({"cpu", "memory", "gpu", "rps", "inflight"}))
        raise ServeError(f"unknown autoscaling metric {name!r}: use one of {known}.")
    return METRICS[key]


def spec_problems(spec) -> list[tuple[str, str]]:
    """(field path, sentence) for every reason `spec` cannot be served; empty when it can."""
    problems: list[tuple[str, str]] = []
    if spec.kind not in SERVE_KINDS or spec.service is None:
        problems.append(("service", f"a {spec.kind} spec is not a service: a revision needs a `service` section "
                                    "(VESSL) or `type: service` (dstack)."))
        return problems
    auto = spec.service.autoscaling
    if auto.min > auto.max:
        problems.append(("service.autoscaling", f"min ({auto.min}) is greater than max ({auto.max}); "
                                                "set min <= max."))
    try:
        metric = canonical_metric(auto.metric)
    except ServeError as exc:
        problems.append(("service.autoscaling.metric", str(exc)))
        metric = None
    if metric in PERCENT_METRICS and auto.target is not None and not 0 < auto.target <= 100:
        problems.append(("service.autoscaling.target", f"target {auto.target} is not a percentage; use 1..100."))
    if metric is not None and auto.target is not None and auto.target <= 0:
        problems.append(("service.autoscaling.target", "target must be greater than 0."))
    return problems


def uses_port_env(spec) -> bool:
    """True when the replica's command reads `$PORT` (so replicas can share one network)."""
    text = " ".join(c.command or "" for c in spec.commands) + " " + (spec.entrypoint or "")
    return bool(_PORT_REF.search(text))


def dump_weights(weights: dict[int, float]) -> str:
    return json.dumps({str(k): v for k, v in weights.items()})


def load_weights(text: str | None) -> dict[int, float]:
    return {int(k): float(v) for k, v in json.loads(text or "{}").items()}
