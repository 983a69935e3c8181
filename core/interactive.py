"""Interactive runs with nothing to run: a dstack dev-environment (`ide:`, no `commands`) or a VESSL
run with `interactive:` and an empty `run`. They are environments to enter (`vessl-tui shell`, the
TUI's `x`, tunnels), so they stay up until stopped or `max_duration` (VESSL `max_runtime`) ends
them; the supervisor enforces both on every backend. The plan says so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.spec.runspec import RunSpec

HOLD_COMMAND = "while :; do sleep 3600; done"
"""Keeps the run up (POSIX sh: local, containers, SSH hosts) until its supervisor stops it."""


def holds_open(spec: "RunSpec") -> bool:
    """True when `spec` is an interactive run with no commands (it is kept up by HOLD_COMMAND)."""
    interactive = spec.kind == "dstack-dev-environment" or spec.interactive is not None
    return interactive and not spec.commands


def hold_open(spec: "RunSpec") -> list[str]:
    """Give an interactive run with nothing to run the command that keeps it up; returns the
    plan's notes (what keeps it up, what ends it)."""
    if not holds_open(spec):
        return []
    from core.spec.runspec import Command

    spec.commands = [Command(command=HOLD_COMMAND)]
    until = f"stopped or its max_duration ({spec.max_duration:g}s) ends it" if spec.max_duration else "stopped"
    notes = [f"an interactive run with nothing to run: it stays up until {until}; enter it with "
             "`vessl-tui shell` (or x in the run's detail)"]
    if spec.idle_duration:
        notes.append(f"inactivity_duration ({spec.idle_duration:g}s) is not watched: the environment stays up "
                     "until stopped or max_duration")
    return notes


def jupyter_note(spec: "RunSpec", cluster_kind: str) -> list[str]:
    """A note when the spec asks for Jupyter where this workstation does not start one (it does on
    local, Docker and SSH clusters): never accepted in silence."""
    if not (spec.interactive and spec.interactive.jupyter) or cluster_kind in ("local", "docker", "ssh"):
        return []
    return [f"interactive.jupyter is started on local, Docker and SSH clusters, not on this {cluster_kind} "
            "cluster: the run has no notebook (run `jupyter lab` in it yourself, and open a tunnel to its port)"]
