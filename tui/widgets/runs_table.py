"""The runs table: a Line API widget that draws only the rows in view, whatever the number of runs.

It keeps the runs as RunRecords (all of them, plus the ids shown, in order) and owns the filter,
the sort, the selection and the cursor (kept on the same run when rows move). Cells are computed
when a row is drawn, so ages and durations are always current; a reload refreshes only the rows
in view whose run changed, or the whole view when the order changed.

| Key | Id | Action |
| --- | --- | --- |
| up / down | table.up / table.down | Cursor up / down |
| pageup / pagedown | table.page_up / table.page_down | A page up / down |
| home / end | table.top / table.bottom | First / last run |
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from rich.cells import set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tui.widgets.runs_cells import (COLUMNS, FIXED_WIDTHS, GAP, MAX_WIDTH, RowCells, end_cut, exit_text, fit_widths,
                                    middle_cut, text_width)
from tui.widgets.status import STATUS_STYLES

if TYPE_CHECKING:  # the engine is imported by the worker that makes it, not by the first frame
    from core.engine import RunRecord

SORTS = ("age", "name", "status", "cluster")


def matches_filter(run: RunRecord, terms: list[str]) -> bool:
    """Every term must match: `status:x`, `cluster:x`, `label:k=v`, or text in name/id/status/cluster."""
    for term in terms:
        key, _, value = term.partition(":")
        if value and key == "status":
            ok = run.status.startswith(value)
        elif value and key == "cluster":
            ok = run.cluster.startswith(value)
        elif value and key == "label":
            k, _, v = value.partition("=")
            ok = run.labels.get(k) == v if v else k in run.labels
        else:
            ok = any(term in field.lower() for field in (run.name.lower(), run.id, run.status, run.cluster.lower(),
                                                      *(t.lower() for t in run.tags)))
        if not ok:
            return False
    return True


def sort_key(column: str) -> Callable[[RunRecord], object]:
    """A key function over RunRecord for one of SORTS (age: newest first)."""
    return {
        "age": lambda r: -r.created_at,
        "name": lambda r: (r.name.lower(), -r.created_at),
        "status": lambda r: (r.status, -r.created_at),
        "cluster": lambda r: (r.cluster, -r.created_at),
    }[column]


@lru_cache(maxsize=None)
def status_style(status: str) -> Style:
    return Style.parse(STATUS_STYLES.get(status, "none"))


class RunsTable(ScrollView, can_focus=True):
    """Runs as rows: id, name, status (word and colour), variant, cluster, GPUs, age, duration, exit."""

    BINDINGS = [
        Binding("up", "cursor(-1)", "Up", id="table.up", show=False),
        Binding("down", "cursor(1)", "Down", id="table.down", show=False),
        Binding("pageup", "page(-1)", "Page up", id="table.page_up", show=False),
        Binding("pagedown", "page(1)", "Page down", id="table.page_down", show=False),
        Binding("home", "first", "First", id="table.top", show=False),
        Binding("end", "last", "Last", id="table.bottom", show=False),
    ]

    COMPONENT_CLASSES = {"runs-table--header", "runs-table--cursor"}

    DEFAULT_CSS = """
    RunsTable { background: $surface; color: $foreground; }
    RunsTable > .runs-table--header { text-style: bold; background: $panel; color: $foreground; }
    RunsTable > .runs-table--cursor {
        background: $block-cursor-blurred-background; color: $block-cursor-blurred-foreground;
        text-style: $block-cursor-blurred-text-style;
    }
    RunsTable:focus > .runs-table--cursor {
        background: $block-cursor-background; color: $block-cursor-foreground; text-style: $block-cursor-text-style;
    }
    """

    cursor_row: reactive[int] = reactive(0, always_update=True, init=False, repaint=False)
    """Index (in the shown rows) of the row under the cursor."""

    class CursorMoved(Message):
        """The run under the cursor may have changed (for a line about it)."""

    class Chosen(Message):
        """The user clicked the run under the cursor (as enter opens it)."""

        def __init__(self, run_id: str) -> None:
            super().__init__()
            self.run_id = run_id

    def __init__(self, *, clock: Callable[[], float] | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.clock = clock
        self.runs: dict[str, RunRecord] = {}
        self.ids: list[str] = []
        self.selected: set[str] = set()
        self.variants: dict[str, str] = {}
        """Run id -> what tells it apart from runs of the same name (see runs_cells.variants)."""
        self.filter_terms: list[str] = []
        self.sort = "age"
        self._position: dict[str, int] = {}
        self._styles: dict[str, Style] = {}
        self._strips: dict[tuple, Strip] = {}
        self._widths = {key: max(text_width(label), FIXED_WIDTHS.get(key, 0)) for key, label in COLUMNS}
        self._fitted: tuple[int, dict[str, int]] | None = None

    # --- data -----------------------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        return len(self.ids)

    @property
    def cursor_id(self) -> str | None:
        """The id of the run under the cursor (None when no row is shown)."""
        return self.ids[self.cursor_row] if 0 <= self.cursor_row < len(self.ids) else None

    def cells(self, run_id: str) -> RowCells | None:
        """The cells of the row of `run_id` as drawn now, or None when it is not shown."""
        if run_id not in self._position:
            return None
        return RowCells.of(self.runs[run_id], self._now(), run_id in self.selected, self.variants.get(run_id, ""))

    def load(self, runs: list[RunRecord], variants: dict[str, str] | None = None) -> None:
        """All runs as read from the store: redraw the rows that changed, keep the cursor's run."""
        old, old_variants = self.runs, self.variants
        self.runs = {run.id: run for run in runs}
        if variants is not None:
            self.variants = variants
        self.selected &= self.runs.keys()
        if not self._reorder() and not self._grow_widths(runs):
            top = self.scroll_offset.y
            for y, run_id in enumerate(self.ids[top : top + self.size.height], start=top):
                if old.get(run_id) != self.runs[run_id] or old_variants.get(run_id) != self.variants.get(run_id):
                    self.refresh_line(y + 1)

    def select_shown(self) -> int:
        """Select every run shown (all runs, or those the filter keeps); returns how many."""
        self.selected |= set(self.ids)
        self.refresh()
        return len(self.ids)

    def set_view(self, *, filter_terms: list[str] | None = None, sort: str | None = None) -> None:
        """Change the filter and/or the sort column (see SORTS)."""
        if filter_terms is not None:
            self.filter_terms = filter_terms
        if sort is not None:
            self.sort = sort
        self._reorder()

    def toggle_selected(self) -> None:
        """Select or unselect the run under the cursor."""
        run_id = self.cursor_id
        if run_id is not None:
            self.selected ^= {run_id}
            self.refresh_line(self.cursor_row + 1)

    def clear_selection(self) -> None:
        self.selected.clear()
        self.refresh()

    def _reorder(self) -> bool:
        """Recompute the rows shown; True (and a full redraw) when they changed."""
        terms = self.filter_terms
        shown = [r for r in self.runs.values() if matches_filter(r, terms)] if terms else list(self.runs.values())
        shown.sort(key=sort_key(self.sort))
        ids = [r.id for r in shown]
        if ids == self.ids:
            return False
        cursor = self.cursor_id
        self.ids = ids
        self._position = {run_id: i for i, run_id in enumerate(ids)}
        self._grow_widths(shown)
        self.virtual_size = Size(self._table_width(), len(ids) + 1)
        row = self._position.get(cursor, min(self.cursor_row, len(ids) - 1)) if cursor else 0
        self.cursor_row = max(0, row)
        self.refresh()
        return True

    def _grow_widths(self, runs: list[RunRecord]) -> bool:
        """Widen columns to fit these runs' text; True (and a full redraw) when one grew."""
        widths, grew = self._widths, False
        for key, values in (("name", (r.name for r in runs)), ("cluster", (r.cluster for r in runs)),
                            ("gpus", (r.gpus or "-" for r in runs)), ("exit", map(exit_text, runs)),
                            ("variant", (self.variants.get(r.id, "") for r in runs))):
            widest = min(max(map(text_width, set(values)), default=0), MAX_WIDTH)
            if widest > widths[key]:
                widths[key], grew = widest, True
        if grew:
            self._strips.clear()
            self._fitted = None
            self.virtual_size = Size(self._table_width(), len(self.ids) + 1)
            self.refresh()
        return grew

    def _table_width(self) -> int:
        return sum(self._shown_widths().values()) + GAP * (len(COLUMNS) - 1)

    def _shown_widths(self) -> dict[str, int]:
        """The columns' widths on this pane: as wide as their text, narrower when it does not fit."""
        room = self.size.width
        if self._fitted is None or self._fitted[0] != room:
            self._fitted = (room, fit_widths(self._widths, room) if room else dict(self._widths))
        return self._fitted[1]

    def _now(self) -> float:
        import time

        return (self.clock or time.time)()

    # --- cursor ---------------------------------------------------------------------------------

    def watch_cursor_row(self, old: int, new: int) -> None:
        self.post_message(self.CursorMoved())
        self.refresh_line(old + 1)
        self.refresh_line(new + 1)
        self._scroll_cursor_into_view()

    def validate_cursor_row(self, row: int) -> int:
        return max(0, min(row, len(self.ids) - 1))

    def _scroll_cursor_into_view(self) -> None:
        rows = max(1, self.size.height - 1)
        top = self.scroll_offset.y
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False, immediate=True)
        elif self.cursor_row >= top + rows:
            self.scroll_to(y=self.cursor_row - rows + 1, animate=False, immediate=True)

    def action_cursor(self, step: int) -> None:
        self.cursor_row += step

    def action_page(self, direction: int) -> None:
        self.cursor_row += direction * max(1, self.size.height - 2)

    def action_first(self) -> None:
        self.cursor_row = 0

    def action_last(self) -> None:
        self.cursor_row = len(self.ids) - 1

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or offset.y == 0:
            return
        row = self.scroll_offset.y + offset.y - 1
        if 0 <= row < len(self.ids):
            if row == self.cursor_row:
                self.post_message(self.Chosen(self.ids[row]))
            self.cursor_row = row

    def on_resize(self) -> None:
        self._fitted = None
        self._strips.clear()
        self.virtual_size = Size(self._table_width(), len(self.ids) + 1)
        self._scroll_cursor_into_view()

    # --- rendering ------------------------------------------------------------------------------

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles.clear()
        self._strips.clear()

    def _style(self, name: str) -> Style:
        """The widget's base style ("base") or a component's on top of it, computed once per theme."""
        style = self._styles.get(name)
        if style is None:
            style = self.rich_style if name == "base" else self._style("base") + self.get_component_rich_style(name)
            self._styles[name] = style
        return style

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.size.width
        base = self._style("base")
        if y == 0:
            strip = self._header_strip(width)
        else:
            row = scroll_y + y - 1
            if row >= len(self.ids):
                return Strip.blank(width, base)
            strip = self._row_strip(row, width)
        return strip.crop_extend(scroll_x, scroll_x + width, base)

    def _cell(self, key: str, text: str, style: Style | None, widths: dict[str, int]) -> Segment:
        width = widths[key]
        cut = middle_cut if key in ("name", "variant") else end_cut
        gap = "" if key == COLUMNS[-1][0] or not width else " " * GAP
        return Segment(set_cell_size(cut(text, width), width) + gap, style)

    def _header_strip(self, width: int) -> Strip:
        style = self._style("runs-table--header")
        widths = self._shown_widths()
        return Strip([self._cell(key, label, style, widths) for key, label in COLUMNS]).extend_cell_length(width, style)

    def _row_strip(self, row: int, width: int) -> Strip:
        run_id = self.ids[row]
        cells = RowCells.of(self.runs[run_id], self._now(), run_id in self.selected, self.variants.get(run_id, ""))
        cursor = row == self.cursor_row
        key = (cells, cursor, width)
        strip = self._strips.get(key)
        if strip is None:
            base = self._style("runs-table--cursor" if cursor else "base")
            widths = self._shown_widths()
            segments = [self._cell(name, getattr(cells, name),
                                   base + status_style(cells.status) if name == "status" else base, widths)
                        for name, _ in COLUMNS]
            strip = Strip(segments).extend_cell_length(width, base)
            if len(self._strips) > 4096:
                self._strips.clear()
            self._strips[key] = strip
        return strip
