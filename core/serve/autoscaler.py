"""The autoscaler's decisions, as pure logic: given a metric reading, how many replicas to run.

Like Kubernetes' HPA: `desired = ceil(current × reading / target)` where `reading` is the average per
replica (CPU / memory / GPU percent, requests per second, in-flight requests), clamped to min..max.

No flapping:
- readings within `tolerance` (10%) of the target change nothing;
- scaling up waits `up_delay` seconds after the previous change;
- scaling down waits `down_delay` seconds after the previous change *and* takes the highest
  recommendation seen over the last `down_delay` seconds (a stabilisation window), so a short dip
  never removes a replica that the next burst needs again.

Every decision comes with its reason, a sentence the keeper records as an event.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ScalePolicy:
    """Bounds, the metric followed and its target per replica, and the two cooldowns (seconds)."""

    min: int
    max: int
    metric: str | None = None
    target: float | None = None
    up_delay: float = 30.0
    down_delay: float = 60.0
    tolerance: float = 0.1

    @property
    def follows_metric(self) -> bool:
        return bool(self.metric) and bool(self.target)

    def unit(self) -> str:
        return "%" if self.metric in ("cpu", "memory", "gpu") else (" req/s" if self.metric == "rps" else " in flight")


@dataclass(frozen=True)
class Decision:
    """Run `desired` replicas instead of `current`, because `reason`."""

    current: int
    desired: int
    reason: str

    @property
    def direction(self) -> str:
        return "up" if self.desired > self.current else "down"


@dataclass
class Autoscaler:
    """Stateful across calls (last change, recent recommendations); `decide` never sleeps or reads clocks."""

    policy: ScalePolicy
    last_change: float | None = None
    first_seen: float | None = None
    _recent: deque = field(default_factory=deque)  # (at, recommendation)

    def clamp_decision(self, current: int, now: float) -> Decision | None:
        """Bring `current` into min..max at once (a manual scale or a changed policy)."""
        p = self.policy
        if current < p.min:
            return self._decided(Decision(current, p.min, f"below the minimum of {p.min} replicas"), now)
        if current > p.max:
            return self._decided(Decision(current, p.max, f"above the maximum of {p.max} replicas"), now)
        return None

    def decide(self, current: int, reading: float | None, now: float) -> Decision | None:
        """A decision, or None to keep `current`. `reading` is the metric's average per replica."""
        clamped = self.clamp_decision(current, now)
        if clamped or not self.policy.follows_metric or reading is None or current == 0:
            return clamped
        p = self.policy
        if self.first_seen is None:
            self.first_seen = now
        ratio = reading / p.target
        wanted = current if abs(ratio - 1.0) <= p.tolerance else math.ceil(current * ratio - 1e-9)
        wanted = max(p.min, min(p.max, wanted))
        self._recent.append((now, wanted))
        while self._recent and self._recent[0][0] < now - p.down_delay:
            self._recent.popleft()
        since = now - (self.first_seen if self.last_change is None else self.last_change)
        shown = f"{p.metric} {reading:.1f}{p.unit()} per replica vs target {p.target:g}{p.unit()}"
        if wanted > current:
            if self.last_change is not None and since < p.up_delay:
                return None
            return self._decided(Decision(current, wanted, f"scale up: {shown}"), now)
        if wanted < current:
            stable = max(r for _, r in self._recent)
            if since < p.down_delay or stable >= current:
                return None
            return self._decided(Decision(current, stable, f"scale down: {shown} for {p.down_delay:g}s"), now)
        return None

    def _decided(self, decision: Decision, now: float) -> Decision:
        self.last_change = now
        self._recent.clear()
        return decision
