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
IDLE_CHECK_SECONDS = 10
SHELL_MARK = "VESSL_TUI_SHELL"
"""Set to the run id in every shell `vessl-tui shell` (or x) opens in a run: how a dev-environment
sees that someone is in it."""


def idle_hold_command(idle_seconds: float) -> str:
    """Keeps the run up while a shell is attached (a process whose environment has SHELL_MARK set
    to this run's id, or, in a container, set at all) and ends it after `idle_seconds` without one."""
    mark = f"{SHELL_MARK}=${{VESSL_TUI_RUN_ID:-}}"
    return (f"idle=0; while :; do sleep {IDLE_CHECK_SECONDS}; "
            f"if cat /proc/[0-9]*/environ 2>/dev/null | tr '\\000' '\\n' | grep -q \"^{mark}\"; "
            f"then idle=0; else idle=$((idle + {IDLE_CHECK_SECONDS})); fi; "
            f"if [ $idle -ge {int(idle_seconds)} ]; then echo \"vessl-tui: no shell for {int(idle_seconds)}s "
            f"(inactivity_duration): the environment ends\"; exit 0; fi; done")


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

    idle = spec.idle_duration
    spec.commands = [Command(command=idle_hold_command(idle) if idle else HOLD_COMMAND)]
    ends = ["stopped"] + ([f"its max_duration ({spec.max_duration:g}s) ends it"] if spec.max_duration else []) + (
        [f"no shell has been in it for {idle:g}s (inactivity_duration)"] if idle else [])
    return [f"an interactive run with nothing to run: it stays up until {' or '.join(ends)}; enter it with "
            "`vessl-tui shell` (or x in the run's detail)"]


def jupyter_note(spec: "RunSpec", cluster_kind: str) -> list[str]:
    """A note when the spec asks for Jupyter where this workstation does not start one (it does on
    local, Docker and SSH clusters): never accepted in silence."""
    if not (spec.interactive and spec.interactive.jupyter) or cluster_kind in ("local", "docker", "ssh"):
        return []
    return [f"interactive.jupyter is started on local, Docker and SSH clusters, not on this {cluster_kind} "
            "cluster: the run has no notebook (run `jupyter lab` in it yourself, and open a tunnel to its port)"]
