"""Runs: the first screen. A live table of runs, refreshed from the store without flicker.

The table polls `engine.data_version()` (cheap) in a worker and reads the runs only when it moved;
rows are added, removed or have single cells updated, never rebuilt, so the cursor stays put and
10,000 runs stay fast.

| Key | Id | Action |
| --- | --- | --- |
| enter | runs.open | Open the run (logs, details) |
| n | runs.new | New run from a file (or the editor) |
| e | runs.editor | Open the spec editor |
| space | runs.select | Select / unselect the run under the cursor |
| s | runs.stop | Stop the selected runs (confirm) |
| r | runs.rerun | Rerun the selected runs (confirm) |
| d | runs.remove | Remove the selected runs (confirm) |
| / | runs.filter | Filter by text or `status:`/`cluster:` terms |
| o | runs.sort | Sort by the next column (age, name, status, cluster) |
| escape | runs.clear | Clear the selection and the filter |
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on, work
from textual._two_way_dict import TwoWayDict
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input

from tui.workers import ReportsWorkerErrors

from core.engine import RunRecord
from tui.screens.modals import ConfirmModal, PromptModal
from tui.widgets.area_bar import AreaBar
from tui.widgets.format import age, run_duration
from tui.widgets.status import status_text

COLUMNS = (("sel", " "), ("name", "NAME"), ("status", "STATUS"), ("cluster", "CLUSTER"), ("gpus", "GPU"),
           ("age", "AGE"), ("dur", "DUR"), ("exit", "EXIT"))
SORTS = ("age", "name", "status", "cluster")
POLL_SECONDS = 0.5


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
            ok = any(term in field.lower() for field in (run.name.lower(), run.id, run.status, run.cluster.lower()))
        if not ok:
            return False
    return True


def sort_key(column: str):
    """A key function over RunRecord for one of SORTS (age: newest first)."""
    return {
        "age": lambda r: -r.created_at,
        "name": lambda r: (r.name.lower(), -r.created_at),
        "status": lambda r: (r.status, -r.created_at),
        "cluster": lambda r: (r.cluster, -r.created_at),
    }[column]


def exit_text(run: RunRecord) -> str:
    if run.exit_code is None:
        return "" if not run.final or not run.reason else run.reason[:12]
    reason = f" {run.reason[:10]}" if run.reason and run.exit_code != 0 else ""
    return f"{run.exit_code}{reason}"


@dataclass(frozen=True)
class RowCells:
    """The text of every cell of one row, to compare and update only what changed."""

    sel: str
    name: str
    status: str
    cluster: str
    gpus: str
    age: str
    dur: str
    exit: str

    def render(self, column: str) -> Text:
        value = getattr(self, column)
        return status_text(value) if column == "status" else Text(value)


class RunsScreen(ReportsWorkerErrors, Screen):
    """The runs table with filter, sort, multi-select and bulk actions."""

    AREA = "runs"
    BINDINGS = [
        Binding("enter", "open", "Logs", id="runs.open", tooltip="Open the run under the cursor"),
        Binding("n", "new", "New", id="runs.new", tooltip="New run from a spec file"),
        Binding("e", "editor", "Editor", id="runs.editor", tooltip="Open the spec editor"),
        Binding("space", "toggle_select", "Select", id="runs.select", tooltip="Select or unselect the run"),
        Binding("s", "stop", "Stop", id="runs.stop", tooltip="Stop the selected runs"),
        Binding("r", "rerun", "Rerun", id="runs.rerun", tooltip="Rerun the selected runs"),
        Binding("d", "remove", "Remove", id="runs.remove", tooltip="Remove the selected runs"),
        Binding("slash", "filter", "Filter", id="runs.filter", tooltip="Filter the runs"),
        Binding("o", "sort", "Sort", id="runs.sort", tooltip="Sort by the next column"),
        Binding("escape", "clear", "Clear", id="runs.clear", show=False, tooltip="Clear selection and filter"),
    ]

    class Loaded(Message):
        """The store moved: these are all the runs now (posted by the poll worker)."""

        def __init__(self, version: int, runs: list[RunRecord]) -> None:
            super().__init__()
            self.version = version
            self.runs = runs

    def __init__(self) -> None:
        super().__init__()
        self.runs: dict[str, RunRecord] = {}
        self.selected: set[str] = set()
        self.filter_terms: list[str] = []
        self.sort = "age"
        self._version: int | None = None
        self._cells: dict[str, RowCells] = {}
        self._order: list[str] = []
        self._ticks = 0

    def compose(self) -> ComposeResult:
        yield AreaBar("runs", id="area-bar")
        table: DataTable = DataTable(id="runs-table", cursor_type="row", zebra_stripes=False)
        for key, label in COLUMNS:
            table.add_column(label, key=key)
        yield table
        yield Input(placeholder="filter: text, status:running, cluster:local", id="runs-filter", classes="hidden")
        yield Footer()

    @property
    def table(self) -> DataTable:
        return self.query_one("#runs-table", DataTable)

    def on_mount(self) -> None:
        self.table.border_title = "Runs"
        self._poll()
        self.set_interval(POLL_SECONDS, self._poll)
        self.set_interval(1.0, self._tick)

    # --- loading --------------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="runs-poll", exit_on_error=False)
    def _poll(self) -> None:
        engine = self.app.engine
        version = engine.data_version()
        if version == self._version:
            return
        self.post_message(self.Loaded(version, engine.list_runs(include_finished=True)))

    @on(Loaded)
    def _loaded(self, event: Loaded) -> None:
        self._version = event.version
        self.runs = {run.id: run for run in event.runs}
        self.app.run_names.update((run.id, run.name) for run in event.runs)
        self.selected &= self.runs.keys()
        self.refresh_rows()

    def refresh_rows(self, rebuild: bool = False) -> None:
        """Bring the table in line with `self.runs`, the filter and the sort, touching only what changed."""
        table = self.table
        now = self.app.clock()
        visible = sorted((r for r in self.runs.values() if matches_filter(r, self.filter_terms)), key=sort_key(self.sort))
        order = [r.id for r in visible]
        if rebuild:
            table.clear()
            self._cells.clear()
            self._order = []
        gone = self._cells.keys() - set(order)
        for run_id in gone:
            table.remove_row(run_id)
            del self._cells[run_id]
        new_rows = [(run.id, self._row_cells(run, now)) for run in visible if run.id not in self._cells]
        self._update_cells([run for run in visible if run.id in self._cells], now)
        self._cells.update(new_rows)
        for run_id, cells in new_rows:
            table.add_row(*[cells.render(c) for c, _ in COLUMNS], key=run_id)
        if order != self._order:
            cursor = self._cursor_id()
            self._sort_rows({run_id: i for i, run_id in enumerate(order)})
            if cursor in self._cells:
                table.move_cursor(row=table.get_row_index(cursor), animate=False)
        self._order = order
        self._update_summary()

    def _sort_rows(self, position: dict[str, int]) -> None:
        """Reorder the table's rows to `position` (run id -> index) without rebuilding them."""
        table = self.table
        # what DataTable.sort does, with the order we already know (a key function sees no row key)
        table._row_locations = TwoWayDict({key: position[key.value] for key in table.rows})  # noqa: SLF001
        table._update_count += 1  # noqa: SLF001
        table.refresh()

    def _row_cells(self, run: RunRecord, now: float) -> RowCells:
        return RowCells(
            sel="●" if run.id in self.selected else " ",
            name=run.name,
            status=run.status,
            cluster=run.cluster,
            gpus=run.gpus or "-",
            age=age(run.created_at, now),
            dur=run_duration(run.started_at, run.ended_at, now),
            exit=exit_text(run),
        )

    def _update_cells(self, runs: list[RunRecord], now: float) -> None:
        """Update the cells of these (shown) runs whose text changed."""
        table = self.table
        for run in runs:
            cells, old = self._row_cells(run, now), self._cells[run.id]
            if cells != old:
                for column, _ in COLUMNS:
                    if getattr(old, column) != getattr(cells, column):
                        table.update_cell(run.id, column, cells.render(column))
                self._cells[run.id] = cells

    def _tick(self) -> None:
        """Durations of active runs move every second, ages of all runs every 10 s."""
        self._ticks += 1
        if not self._cells or not self.is_current:
            return
        every = self._ticks % 10 == 0
        shown = [self.runs[i] for i in self._cells if i in self.runs and (every or not self.runs[i].final)]
        self._update_cells(shown, self.app.clock())

    def _update_summary(self) -> None:
        running = sum(1 for r in self.runs.values() if r.status == "running")
        parts = [f"{running} running"]
        if self.selected:
            parts.append(f"{len(self.selected)} selected")
        parts.append(f"{len(self._order)}/{len(self.runs)} runs")
        self.query_one(AreaBar).summary = " · ".join(parts)
        self.table.border_subtitle = f"filter: {' '.join(self.filter_terms)}" if self.filter_terms else ""

    def _cursor_id(self) -> str | None:
        table = self.table
        if not table.row_count:
            return None
        try:
            return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        except Exception:  # noqa: BLE001 - an empty or shrinking table has no cursor row
            return None

    def _targets(self) -> list[RunRecord]:
        ids = [i for i in self._order if i in self.selected] or [i for i in [self._cursor_id()] if i]
        return [self.runs[i] for i in ids if i in self.runs]

    # --- actions --------------------------------------------------------------------------------

    @on(DataTable.RowSelected, "#runs-table")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        self.open_run(event.row_key.value)

    def action_open(self) -> None:
        run_id = self._cursor_id()
        if run_id:
            self.open_run(run_id)

    def open_run(self, run_id: str) -> None:
        from tui.screens.run_detail import RunDetailScreen

        self.app.push_screen(RunDetailScreen(run_id))

    def action_toggle_select(self) -> None:
        run_id = self._cursor_id()
        if run_id is None:
            return
        self.selected ^= {run_id}
        self.refresh_rows()
        self.table.action_cursor_down()

    def action_clear(self) -> None:
        filter_box = self.query_one("#runs-filter", Input)
        if filter_box.has_focus:
            filter_box.add_class("hidden")
            self.table.focus()
            return
        self.selected.clear()
        if self.filter_terms:
            self.filter_terms = []
            filter_box.value = ""
        self.refresh_rows()

    def action_filter(self) -> None:
        filter_box = self.query_one("#runs-filter", Input)
        filter_box.remove_class("hidden")
        filter_box.focus()

    @on(Input.Changed, "#runs-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.filter_terms = event.value.lower().split()
        self.refresh_rows()

    @on(Input.Submitted, "#runs-filter")
    def _filter_done(self, event: Input.Submitted) -> None:
        if not event.value.strip():
            event.input.add_class("hidden")
        self.table.focus()

    def action_sort(self) -> None:
        self.sort = SORTS[(SORTS.index(self.sort) + 1) % len(SORTS)]
        self.table.border_title = f"Runs (by {self.sort})"
        self.refresh_rows()

    def action_new(self) -> None:
        def chosen(path: str | None) -> None:
            if path:
                self.submit_file(path)
            elif path == "":
                self.action_editor()

        self.app.push_screen(PromptModal("Run a spec file (empty: open the editor)", placeholder="path/to/spec.yaml"), chosen)

    def action_editor(self) -> None:
        from tui.screens.editor import EditorScreen

        self.app.push_screen(EditorScreen())

    @work(thread=True, group="runs-submit", exit_on_error=False)
    def submit_file(self, path: str) -> None:
        run = self.app.engine.submit(path)
        self.app.call_from_thread(self.notify, f"Submitted {run.name} ({run.id}) on {run.cluster}.")

    def _bulk(self, verb: str, method: str, note: str = "") -> None:
        runs = self._targets()
        if not runs:
            self.notify("No run selected.", severity="warning")
            return
        names = ", ".join(r.name for r in runs[:5]) + (f" and {len(runs) - 5} more" if len(runs) > 5 else "")
        question = f"{verb} {len(runs)} run{'s' if len(runs) > 1 else ''}?"

        def answered(yes: bool | None) -> None:
            if yes:
                self._apply_bulk(method, [r.id for r in runs], verb)
                self.selected.clear()
                self.refresh_rows()

        self.app.push_screen(ConfirmModal(question, names + note), answered)

    @work(thread=True, group="runs-bulk", exit_on_error=False)
    def _apply_bulk(self, method: str, run_ids: list[str], verb: str) -> None:
        engine = self.app.engine
        failures = []
        for run_id in run_ids:
            try:
                if method == "remove":
                    engine.remove(run_id, force=True)
                else:
                    getattr(engine, method)(run_id)
            except ValueError as exc:
                failures.append(str(exc))
        done = len(run_ids) - len(failures)
        self.app.call_from_thread(self.notify, f"{verb}: {done} of {len(run_ids)} done." + (f" {failures[0]}" if failures else ""),
                                  severity="error" if failures else "information")

    def action_stop(self) -> None:
        self._bulk("Stop", "stop")

    def action_rerun(self) -> None:
        self._bulk("Rerun", "rerun")

    def action_remove(self) -> None:
        self._bulk("Remove", "remove", " (running ones are stopped first)")

    def on_screen_resume(self) -> None:
        self._version = None
        self._poll()
