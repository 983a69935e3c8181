"""What the run detail says of a run in words: its header line and its info pane (spec summary
and history). Pure functions of the run's record."""

from __future__ import annotations

from rich.text import Text

from core.engine import Event, RunRecord
from core.humanize import age, run_duration
from tui.widgets.status import status_text

HISTORY_EVENTS = 200
"""Events shown in the info pane's history (it scrolls: focus it with i, then up/down)."""


def header_text(run: RunRecord, now: float, tunnels: list) -> Text:
    """`name  status  12m  cluster  GPU  ports 6006→127.0.0.1:6006 (open)`."""
    text = Text(f" {run.name} ", style="bold")
    text.append_text(status_text(run.shown_status))
    text.append(f"  age {age(run.created_at, now)}  dur {run_duration(run.started_at, run.ended_at, now)}")
    text.append(f"  {run.cluster}")
    if run.gpus and run.gpus != "-":
        text.append(f"  {run.gpus}")
    if run.exit_code is not None:
        text.append(f"  exit {run.exit_code}", style="bold" if run.exit_code else "")
    if run.reason and (run.final or run.status == "pending"):
        text.append(f" ({run.reason})")
    if run.ports:
        open_ports = {t.remote_port: t for t in tunnels}
        shown = []
        for port in run.ports:
            tunnel = open_ports.get(port)
            shown.append(f"{port}→127.0.0.1:{tunnel.local_port} ({tunnel.state})" if tunnel else f"{port} (no tunnel)")
        text.append("  ports " + ", ".join(shown))
    return text


def info_text(run: RunRecord, events: list[Event]) -> Text:
    """The run's spec summary and history, for the info pane."""
    text = Text()
    rows = [("id", run.id), ("kind", run.kind or "-"), ("cluster", run.cluster), ("preset", run.preset or "-"),
            ("gpus", run.gpus or "-"), ("ports", ", ".join(map(str, run.ports)) or "-"),
            ("file", run.source_file or "-"), ("attempt", str(run.attempt)),
            ("tags", ", ".join(run.tags) or "-"),
            ("labels", ", ".join(f"{k}={v}" for k, v in sorted(run.labels.items())) or "-")]
    for key, value in rows:
        text.append(f"{key:>8} ", style="bold")
        text.append(f"{value}\n")
    text.append("history\n", style="bold")
    for event in events[-HISTORY_EVENTS:]:
        what = event.status or event.kind
        text.append(f"  {what}", style="bold")
        text.append(f"  {event.message or ''}\n")
    return text
