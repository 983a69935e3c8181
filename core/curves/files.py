"""The files of a run's metrics, beside its log (names only, and the small state file): imported by
backends and `vessl-tui ps --json`, so it imports nothing heavy.

    runs/<id>/metrics.jsonl      what the supervisor parsed out of the log, one JSON object a line
    runs/<id>/reported.jsonl     the file the run writes on purpose (`$VESSL_TUI_METRICS`), or the
                                 copy brought back from a container or a remote host
    runs/<id>/metrics.state.json the supervisor's cursor and the last value of every metric
"""

from __future__ import annotations

import json
import os
from pathlib import Path

LOG_METRICS = "metrics.jsonl"
REPORTED = "reported.jsonl"
STATE = "metrics.state.json"


def last_values(run_dir: Path) -> dict[str, float]:
    """The last value of every metric, as the supervisor last saved it (one small file)."""
    try:
        state = json.loads((run_dir / STATE).read_text())
    except (OSError, ValueError):
        return {}
    last = state.get("last") if isinstance(state, dict) else None
    return dict(last) if isinstance(last, dict) else {}


def complete(run_dir: Path) -> bool:
    """True once the supervisor stored the last of the run's metrics (set after the run is final:
    a large backlog is parsed after the run's end, not before it)."""
    try:
        state = json.loads((run_dir / STATE).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(state, dict) and state.get("complete") is True


def write_state(run_dir: Path, state: dict[str, object]) -> None:
    """Replace the state file at once (a reader never sees half of it)."""
    tmp = run_dir / (STATE + ".tmp")
    tmp.write_text(json.dumps(state))
    os.replace(tmp, run_dir / STATE)
