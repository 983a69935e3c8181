"""Runs: the first screen. A live table of runs, refreshed from the store without flicker.

The screen polls `engine.data_version()` (cheap) in a worker and reads the runs only when it moved,
one read at a time; the first read shows the newest screenful of runs before reading them all. The
table (`RunsTable`) draws only the rows in view and redraws only those that changed, so the cursor
stays put and 10,000 runs stay fast.

| Key | Id | Action |
| --- | --- | --- |
| enter | runs.open | Open the run (logs, details) |
| n | runs.new | New run from a file (or the editor) |
| e | runs.editor | Open the spec editor |
| space | runs.select | Select / unselect the run under the cursor |
| ctrl+a | runs.select_all | Select every run shown (all, or those the filter keeps) |
| s | runs.stop | Stop the selected runs (confirm) |
| r | runs.rerun | Rerun the selected runs (confirm) |
| d | runs.remove | Remove the selected runs (confirm) |
| / | runs.filter | Filter by text or `status:`/`cluster:`/`label:` terms (escape hides the box; / brings it back) |
| o | runs.sort | Sort by the next column (age, name, status, cluster) |
| escape | runs.clear | Clear the selection and the filter |
| c | runs.compare | Compare the selected runs' metrics (tui.screens.compare) |
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from rich.text import Text
from textual.widgets import Input, Static

from tui.screens.modals import ConfirmModal, PromptModal
from tui.widgets.area_bar import AreaBar
from tui.widgets.key_bar import KeyBar
from core.humanize import exit_reason
from tui.widgets.runs_cells import variants
from tui.widgets.runs_table import SORTS, RunsTable
from tui.workers import ReportsWorkerErrors

if TYPE_CHECKING:
    from core.engine import RunRecord

POLL_SECONDS = 0.5
FIRST_PAGE = 200
"""Runs read first, newest first, to paint the table before the rest are read (more than a screen)."""
ENV_READS = 200
"""Stored envs read per store read, to tell apart runs of one name (each run's is read once)."""
EMPTY_HELP = ("No runs yet.\n\n  n  run a spec file (Tab completes its path)\n  e  open the spec editor\n"
              "  :  a command (:run FILE, :revisions, …)\n  ?  every key of this screen")


class RunsScreen(ReportsWorkerErrors, Screen):
    """The runs table with filter, sort, multi-select and bulk actions."""

    AREA = "runs"
    BINDINGS = [
        Binding("enter", "open", "Logs", id="runs.open", tooltip="Open the run under the cursor"),
        Binding("n", "new", "New", id="runs.new", tooltip="New run from a spec file"),
        Binding("e", "editor", "Editor", id="runs.editor", tooltip="Open the spec editor"),
        Binding("space", "toggle_select", "Select", id="runs.select", tooltip="Select or unselect the run"),
        Binding("ctrl+a", "select_all", "Select all", id="runs.select_all", show=False,
                tooltip="Select every run shown (the filtered rows)"),
        Binding("s", "stop", "Stop", id="runs.stop", tooltip="Stop the selected runs"),
        Binding("r", "rerun", "Rerun", id="runs.rerun", tooltip="Rerun the selected runs"),
        Binding("d", "remove", "Remove", id="runs.remove", tooltip="Remove the selected runs"),
        Binding("slash", "filter", "Filter", id="runs.filter", tooltip="Filter the runs"),
        Binding("o", "sort", "Sort", id="runs.sort", tooltip="Sort by the next column"),
        Binding("escape", "clear", "Clear", id="runs.clear", show=False, tooltip="Clear selection and filter"),
        Binding("c", "compare", "Compare", id="runs.compare", tooltip="Compare the metrics of the selected runs"),
    ]

    class Loaded(Message):
        """The store moved: these are the runs now (posted by the poll worker); `complete` is False
        for the newest page shown while the rest are read."""

        def __init__(self, runs: list[RunRecord], complete: bool = True, variants: dict[str, str] | None = None) -> None:
            super().__init__()
            self.runs = runs
            self.complete = complete
            self.variants = variants

    def __init__(self) -> None:
        super().__init__()
        self._version: int | None = None
        self._reading = False
        self._first_read = True
        self._complete = False
        self._ticks = 0
        self._envs: dict[str, dict[str, str]] = {}

    def compose(self) -> ComposeResult:
        yield AreaBar("runs", id="area-bar")
        yield Static(EMPTY_HELP, id="runs-empty", classes="hidden")
        yield RunsTable(clock=self.app.clock, id="runs-table")
        yield Input(placeholder="filter: text, status:running, cluster:local, label:k=v", id="runs-filter",
                    classes="hidden")
        yield Static("", id="runs-line")
        yield KeyBar()

    @property
    def table(self) -> RunsTable:
        return self.query_one("#runs-table", RunsTable)

    @property
    def runs(self) -> dict[str, RunRecord]:
        return self.table.runs

    @property
    def selected(self) -> set[str]:
        return self.table.selected

    def on_mount(self) -> None:
        self.table.border_title = "Runs"
        self._poll()
        self.set_interval(POLL_SECONDS, self._poll)
        self.set_interval(1.0, self._tick)

    # --- loading --------------------------------------------------------------------------------

    def _poll(self) -> None:
        """Read the store in a worker, unless a read is under way (reads never pile up)."""
        if not self._reading:
            self._reading = True
            self._read_runs()

    @work(thread=True, group="runs-poll", exit_on_error=False)
    def _read_runs(self) -> None:
        try:
            engine = self.app.engine
            version = engine.data_version()
            if version == self._version:
                return
            self._version = version  # before reading: a reload asked for meanwhile resets it
            if self._first_read:
                self._first_read = False
                page = engine.list_runs(include_finished=True, limit=FIRST_PAGE)
                if len(page) < FIRST_PAGE:
                    self.post_message(self.Loaded(page, variants=self._variants(engine, page)))
                    return
                self.post_message(self.Loaded(page, complete=False))
            runs = engine.list_runs(include_finished=True)
            self.post_message(self.Loaded(runs, variants=self._variants(engine, runs)))
        except BaseException:
            self._version = None
            raise
        finally:
            self._reading = False

    def _variants(self, engine, runs: list[RunRecord]) -> dict[str, str]:
        """(Worker) what tells runs of one name apart; the env of untagged ones is read once per run,
        at most ENV_READS new ones per read (newest first)."""
        counts: dict[str, int] = {}
        for run in runs:
            counts[run.name] = counts.get(run.name, 0) + 1
        reads = 0
        for run in runs:
            if counts[run.name] > 1 and not run.tags and not run.labels and run.id not in self._envs:
                if reads >= ENV_READS:
                    break
                reads += 1
                try:
                    self._envs[run.id] = engine.run_env(run.id)
                except (ValueError, KeyError, TypeError):
                    self._envs[run.id] = {}
        return variants(runs, self._envs)

    @on(Loaded)
    def _loaded(self, event: Loaded) -> None:
        self._complete = event.complete
        self.app.run_names.update((run.id, run.name) for run in event.runs)
        self.table.load(event.runs, event.variants)
        self.query_one("#runs-empty").set_class(bool(event.runs) or not event.complete, "hidden")
        self._update_summary()
        self._show_cursor_run()

    @on(RunsTable.CursorMoved)
    def _show_cursor_run(self) -> None:
        """The line under the table: the cursor's run in full (id, name, status, how it ended)."""
        table = self.table
        run = table.runs.get(table.cursor_id or "")
        line = self.query_one("#runs-line", Static)
        if run is None:
            line.update("", layout=False)
            return
        parts = [run.id, run.name, run.shown_status]
        ended = exit_reason(run.exit_code, run.reason, run.final)
        if ended:
            parts.append(f"exit {ended}")
        elif run.reason and not run.final:
            parts.append(run.reason)
        if table.variants.get(run.id):
            parts.append(table.variants[run.id])
        line.update(Text(" " + " · ".join(parts), no_wrap=True, overflow="ellipsis"), layout=False)  # one line, always

    def _tick(self) -> None:
        """Ages and durations move: redraw the rows in view every second (active runs) or 10 s."""
        self._ticks += 1
        table = self.table
        if not table.row_count or not self.is_current:
            return
        top = table.scroll_offset.y
        shown = table.ids[top : top + table.size.height]
        if self._ticks % 10 == 0 or any(not table.runs[i].final for i in shown):
            table.refresh()

    def _update_summary(self) -> None:
        table = self.table
        running = sum(1 for r in table.runs.values() if r.status == "running")
        parts = [f"{running} running"]
        if table.selected:
            parts.append(f"{len(table.selected)} selected")
        parts.append(f"{table.row_count}/{len(table.runs)} runs" if self._complete else "reading runs…")
        self.query_one(AreaBar).summary = " · ".join(parts)
        table.border_subtitle = f"filter: {' '.join(table.filter_terms)}" if table.filter_terms else ""

    def _cursor_id(self) -> str | None:
        return self.table.cursor_id

    def _targets(self) -> list[RunRecord]:
        table = self.table
        ids = [i for i in table.ids if i in table.selected] or [i for i in [table.cursor_id] if i]
        return [table.runs[i] for i in ids]

    # --- actions --------------------------------------------------------------------------------

    @on(RunsTable.Chosen)
    def _row_chosen(self, event: RunsTable.Chosen) -> None:
        self.open_run(event.run_id)

    def action_open(self) -> None:
        run_id = self._cursor_id()
        if run_id:
            self.open_run(run_id)

    def open_run(self, run_id: str) -> None:
        from tui.screens.run_detail import RunDetailScreen

        self.app.push_screen(RunDetailScreen(run_id))

    def action_compare(self) -> None:
        from tui.screens.compare import CompareScreen

        chosen = [run.id for run in self._targets()]
        if chosen:
            self.app.push_screen(CompareScreen(chosen))

    def action_toggle_select(self) -> None:
        self.table.toggle_selected()
        self.table.action_cursor(1)
        self._update_summary()

    def action_select_all(self) -> None:
        count = self.table.select_shown()
        what = "shown by the filter" if self.table.filter_terms else "shown"
        self.notify(f"Selected the {count} run{'s' if count != 1 else ''} {what}.")
        self._update_summary()

    def action_clear(self) -> None:
        filter_box = self.query_one("#runs-filter", Input)
        if filter_box.has_focus:
            filter_box.add_class("hidden")  # the filter stays applied; / brings the box back
            self.table.focus()
            return
        self.table.clear_selection()
        if self.table.filter_terms:
            filter_box.value = ""
            self.table.set_view(filter_terms=[])
        self._update_summary()

    def action_filter(self) -> None:
        filter_box = self.query_one("#runs-filter", Input)
        filter_box.remove_class("hidden")
        filter_box.focus()

    @on(Input.Changed, "#runs-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.table.set_view(filter_terms=event.value.lower().split())
        self._update_summary()

    @on(Input.Submitted, "#runs-filter")
    def _filter_done(self, event: Input.Submitted) -> None:
        event.input.add_class("hidden")  # the filter stays in the table's border
        self.table.focus()

    def action_sort(self) -> None:
        table = self.table
        table.set_view(sort=SORTS[(SORTS.index(table.sort) + 1) % len(SORTS)])
        table.border_title = f"Runs (by {table.sort})"

    def action_new(self) -> None:
        def chosen(path: str | None) -> None:
            if path:
                self.submit_file(path)
            elif path == "":
                self.action_editor()

        self.app.push_screen(PromptModal("Run a spec file (empty: open the editor)", placeholder="path/to/spec.yaml",
                                         paths=True), chosen)

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
        if method == "stop":
            finished = [r for r in runs if r.final]
            runs = [r for r in runs if not r.final]
            if not runs:
                first = finished[0]
                more = f" (and the {len(finished) - 1} other selected runs have ended too)" if len(finished) > 1 else ""
                self.notify(f"{first.name} is {first.status}: there is nothing to stop{more}.", severity="warning")
                return
            if finished:
                note += f" ({len(finished)} that already ended are left as they are)"
        names = ", ".join(r.name for r in runs[:5]) + (f" and {len(runs) - 5} more" if len(runs) > 5 else "")
        question = f"{verb} {len(runs)} run{'s' if len(runs) > 1 else ''}?"

        def answered(yes: bool | None) -> None:
            if yes:
                self._apply_bulk(method, [r.id for r in runs], verb)
                self.table.clear_selection()
                self._update_summary()

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
