"""What each cell of the runs table says, and how wide each column may be on this screen.

Columns grow to their widest text; when the table would be wider than the pane, the columns that
matter least give up room first (the variant, the exit, then the name, cut in the middle so that
`sweep-lr…-07` stays told apart), so that STATUS and AGE always stay on an 80-column screen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.cells import cell_len

from core.humanize import age, exit_reason, run_duration
from tui.widgets.status import STATUS_STYLES

if TYPE_CHECKING:
    from core.engine import RunRecord

COLUMNS = (("sel", " "), ("id", "ID"), ("name", "NAME"), ("status", "STATUS"), ("variant", "VARIANT"),
           ("cluster", "CLUSTER"), ("gpus", "GPU"), ("age", "AGE"), ("dur", "DUR"), ("exit", "EXIT"))
ID_WIDTH = 8
MAX_WIDTH = 40
FIXED_WIDTHS = {"sel": 1, "id": ID_WIDTH, "status": max(map(len, STATUS_STYLES)), "age": 4, "dur": 4}
"""Columns whose text has a known bound; the others grow to their widest text (never shrink)."""
SHRINK_ORDER = (("variant", 7), ("exit", 4), ("name", 12), ("cluster", 7), ("gpus", 3), ("variant", 0))
"""(column, narrowest) in the order columns give up room when the table is wider than the pane."""
GAP = 1


def middle_cut(text: str, width: int) -> str:
    """`text` in `width` cells, cut in the middle with `…` when longer (both ends stay readable)."""
    if text_width(text) <= width:
        return text
    if width <= 1:
        return "…"[:width]
    keep = width - 1
    head = (keep + 1) // 2
    return text[:head] + "…" + text[len(text) - (keep - head):] if keep - head else text[:head] + "…"


def end_cut(text: str, width: int) -> str:
    """`text` in `width` cells, cut at the end with `…` when longer."""
    if text_width(text) <= width:
        return text
    return text[: max(0, width - 1)] + "…" if width > 0 else ""


def text_width(text: str) -> int:
    """Terminal cells `text` takes (len for ASCII, the common case, without a per-character scan)."""
    return len(text) if text.isascii() else cell_len(text)


def exit_text(run: RunRecord) -> str:
    """How the run ended (`143 stopped by request`), or, while it waits in a GPU queue, for what."""
    if run.status == "pending" and run.reason:
        return run.reason
    return exit_reason(run.exit_code, run.reason, run.final)


@dataclass(frozen=True)
class RowCells:
    """The text of every cell of one row, before it is cut to its column."""

    sel: str
    id: str
    name: str
    status: str
    variant: str
    cluster: str
    gpus: str
    age: str
    dur: str
    exit: str

    @classmethod
    def of(cls, run: RunRecord, now: float, selected: bool, variant: str = "") -> "RowCells":
        return cls(
            sel="●" if selected else " ",
            id=run.id[:ID_WIDTH],
            name=run.name,
            status=run.shown_status,
            variant=variant,
            cluster=run.cluster,
            gpus=run.gpus or "-",
            age=age(run.created_at, now),
            dur=run_duration(run.started_at, run.ended_at, now),
            exit=exit_text(run),
        )


def fit_widths(natural: dict[str, int], room: int) -> dict[str, int]:
    """Column widths that fit `room` cells (gaps included) when they can: columns shrink in
    SHRINK_ORDER, each down to its narrowest, until the table fits."""
    widths = dict(natural)
    over = sum(widths.values()) + GAP * (len(widths) - 1) - room
    for key, narrowest in SHRINK_ORDER:
        if over <= 0:
            break
        give = min(over, max(0, widths[key] - narrowest))
        widths[key] -= give
        over -= give
    return widths


def variants(runs: list[RunRecord], envs: dict[str, dict[str, str]]) -> dict[str, str]:
    """Run id -> what tells it apart from the runs of the same name: its tags, else its labels,
    else the env values (and command) that differ within the group (`LR=0.1 BS=32`).
    `envs`: run id -> that run's env (with `$cmd` for its commands), for the runs in groups."""
    groups: dict[str, list[RunRecord]] = {}
    for run in runs:
        groups.setdefault(run.name, []).append(run)
    result: dict[str, str] = {}
    for group in groups.values():
        for run in group:
            if run.tags:
                result[run.id] = ",".join(run.tags)
            elif run.labels:
                result[run.id] = ",".join(f"{k}={v}" for k, v in sorted(run.labels.items()))
        rest = [r for r in group if r.id not in result and r.id in envs]
        if len(rest) < 2:
            continue
        keys = sorted({k for r in rest for k in envs[r.id]})
        differing = [k for k in keys if len({envs[r.id].get(k) for r in rest}) > 1]
        for run in rest:
            env = envs[run.id]
            result[run.id] = " ".join(f"{k}={env.get(k, '')}" if k != "$cmd" else env.get(k, "")
                                      for k in differing)
    return result
