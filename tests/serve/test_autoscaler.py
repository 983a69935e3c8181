"""The autoscaler's decisions: bounds, target tracking, cooldowns, no flapping, reasons."""

from __future__ import annotations

import pytest

from core.serve.autoscaler import Autoscaler, ScalePolicy


def scaler(**kw) -> Autoscaler:
    base = dict(min=1, max=4, metric="rps", target=10.0, up_delay=5.0, down_delay=20.0)
    base.update(kw)
    return Autoscaler(ScalePolicy(**base))


@pytest.mark.parametrize(
    ("current", "reading", "expected"),
    [
        (1, 30.0, 3),   # 30 rps on one replica, target 10 -> 3
        (2, 25.0, 4),   # 50 rps over two -> 5, clamped to max 4
        (1, 10.5, None),  # within tolerance
        (1, 0.0, None),   # already at min
    ],
)
def test_scale_up_follows_target_within_bounds(current: int, reading: float, expected: int | None) -> None:
    decision = scaler().decide(current, reading, now=100.0)
    assert (decision.desired if decision else None) == expected
    if decision:
        assert decision.reason.startswith("scale up: rps")


def test_bounds_apply_at_once() -> None:
    a = scaler(min=2)
    d = a.decide(1, None, now=0.0)
    assert (d.desired, d.reason) == (2, "below the minimum of 2 replicas")
    d = scaler(max=2).decide(5, 0.0, now=0.0)
    assert d.desired == 2 and "maximum" in d.reason


def test_scale_up_waits_for_cooldown() -> None:
    a = scaler()
    assert a.decide(1, 20.0, now=0.0).desired == 2
    assert a.decide(2, 40.0, now=2.0) is None  # 2 s < up_delay 5 s
    assert a.decide(2, 40.0, now=6.0).desired == 4


def test_scale_down_needs_a_stable_window() -> None:
    a = scaler()
    assert a.decide(1, 30.0, now=0.0).desired == 3
    # load gone, but within down_delay of the last change: keep 3
    assert a.decide(3, 0.0, now=10.0) is None
    # a burst inside the window keeps the recommendation high
    assert a.decide(3, 10.0, now=15.0) is None
    assert a.decide(3, 0.0, now=21.0) is None  # the burst at 15 s is still in the 20 s window
    d = a.decide(3, 0.0, now=36.0)
    assert d is not None and d.desired == 1 and d.reason.startswith("scale down")


def test_no_flapping_under_oscillating_load() -> None:
    """Load alternating every second around the target never changes direction within a cooldown."""
    a = scaler(up_delay=5.0, down_delay=20.0)
    current, changes = 2, []
    for t in range(0, 120):
        reading = (30.0 if t % 2 else 5.0) / current * 2
        d = a.decide(current, reading, now=float(t))
        if d:
            changes.append((t, d.direction))
            current = d.desired
        assert 1 <= current <= 4
    downs_after_up = [
        (t2 - t1) for (t1, d1), (t2, d2) in zip(changes, changes[1:]) if d1 != d2
    ]
    assert all(gap >= 20 for gap in downs_after_up), changes


def test_without_metric_only_bounds_matter() -> None:
    a = scaler(metric=None, target=None)
    assert a.decide(2, 1000.0, now=0.0) is None
