"""Compare: the runs selected in the runs list (a sweep) on one plot per metric, and a table.

Each line is labelled with what differs between the runs (env values such as `LR=0.001`, the
words of the commands that differ, tags), so a sweep reads as its settings. The table under the
plots lists each run's final and best value of every metric (best: the minimum of losses and
errors, else the maximum), sortable by any column.

| Key | Id | Action |
| --- | --- | --- |
| escape, l, z | curves.* | Back, log scale, smoothing (as in Metrics) |
| o | compare.sort | Sort the table by the next column |
| O | compare.reverse | Reverse the table's order |
| tab | - | Move between the plots and the table |
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable

from core.curves.compare import best, differences
from tui.screens.curves import CurvesScreen
from tui.widgets.curve_plot import figure

if TYPE_CHECKING:
    from core.engine import Engine

MISSING = float("inf")  # sorts a run without the metric last


class CompareScreen(CurvesScreen):
    """Several runs, each metric on one plot."""

    BINDINGS = [
        Binding("o", "sort", "Sort", id="compare.sort", tooltip="Sort the table by the next column"),
        Binding("O", "reverse", "Reverse", id="compare.reverse", show=False, tooltip="Reverse the table's order"),
    ]

    def __init__(self, run_ids: list[str]) -> None:
        super().__init__(run_ids)
        self.sort_column = 0
        self.descending = False

    def compose_extra(self) -> ComposeResult:
        table: DataTable = DataTable(id="compare-table", cursor_type="row", zebra_stripes=True)
        table.border_title = "Final / best"
        yield table

    def run_labels(self, engine: "Engine", names: dict[str, str]) -> dict[str, str]:
        """What differs between the runs; a run's name (and id) when nothing does."""
        settings = {}
        for run_id in names:
            tags = engine.get(run_id).tags
            settings[run_id] = engine.run_env(run_id) | ({"$tags": ",".join(sorted(tags))} if tags else {})
        varying = differences(settings)
        return {run_id: varying.get(run_id) or f"{name} {run_id[:6]}" for run_id, name in names.items()}

    def draw(self) -> None:
        super().draw()
        self.fill_table()

    def columns(self) -> list[str]:
        return ["run"] + [f"{metric} {which}" for metric in self.curves for which in ("last", "best")]

    def rows(self) -> list[list[object]]:
        """One row per run: its label, then last and best of each metric (None when it has none)."""
        rows = []
        for run_id in self.run_ids:
            label = self.labels.get(run_id, run_id)
            row: list[object] = [label]
            for metric, curves in self.curves.items():
                curve = next((c for c in curves if c.run_id == run_id), None)
                row += [None, None] if curve is None else [curve.last, best(metric, curve.low, curve.high)]
            rows.append(row)
        return rows

    def fill_table(self) -> None:
        table = self.query_one("#compare-table", DataTable)
        columns = self.columns()
        self.sort_column = min(self.sort_column, len(columns) - 1)
        rows = self.rows()
        column = self.sort_column

        def key(row: list[object]) -> tuple[int, object]:
            value = row[column]
            if column == 0:
                return (0, str(value))
            return (value is None, value if isinstance(value, (int, float)) else MISSING)

        rows.sort(key=key, reverse=self.descending)
        table.clear(columns=True)
        for index, name in enumerate(columns):
            arrow = (" ▼" if self.descending else " ▲") if index == column else ""
            width = max([len(name) + 2] + [len(str(row[0])) for row in rows]) if index == 0 else None
            table.add_column(name + arrow, key=str(index), width=width)
        for row in rows:
            table.add_row(str(row[0]), *(figure(v) if isinstance(v, (int, float)) else "-" for v in row[1:]))

    def header(self):
        text = super().header()
        text.append(f"  sorted by {self.columns()[self.sort_column]}")
        return text

    def action_sort(self) -> None:
        self.sort_column = (self.sort_column + 1) % len(self.columns())
        self.fill_table()
        self.update_header()

    def action_reverse(self) -> None:
        self.descending = not self.descending
        self.fill_table()
