"""Data: the registry's datasets, models and artifacts (vessl-dataset/model/artifact://), newest
first, with size, file count, the run that stored each version and its age. Reached with `:data`.

| Key | Id | Action |
| --- | --- | --- |
| ctrl+l | data.refresh | Read the registry again |
| d | data.remove | Remove the version under the cursor (after a confirm) |
"""

from __future__ import annotations

import time

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable

from core.humanize import age, size
from tui.screens.modals import ConfirmModal
from tui.widgets.area_bar import AreaBar
from tui.widgets.key_bar import KeyBar
from tui.widgets.row_table import row_table
from tui.workers import ReportsWorkerErrors

COLUMNS = (("kind", "KIND"), ("uri", "URI"), ("size", "SIZE"), ("files", "FILES"), ("run", "SOURCE RUN"),
           ("age", "AGE"))


def entry_cells(entry, now: float) -> tuple:
    return (entry.kind, entry.uri, size(entry.size), str(entry.files), entry.source_run or "-",
            age(entry.created_at, now))


class DataScreen(ReportsWorkerErrors, Screen):
    """The registry's versions; reading it is a thread worker (the registry may be in S3)."""

    AREA = "data"
    BINDINGS = [
        Binding("ctrl+l", "refresh_entries", "Refresh", id="data.refresh", tooltip="Read the registry again"),
        Binding("d", "remove", "Remove", id="data.remove", tooltip="Remove the version under the cursor"),
    ]

    def compose(self) -> ComposeResult:
        yield AreaBar("data", id="area-bar")
        yield row_table("data-table", COLUMNS, "Datasets, models and artifacts")
        yield KeyBar()

    def on_mount(self) -> None:
        self.action_refresh_entries()

    def action_refresh_entries(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, group="data-load")
    def load(self) -> None:
        entries = self.app.engine.registry_entries()
        self.app.call_from_thread(self.show, entries)

    def show(self, entries: list) -> None:
        table = self.query_one(DataTable)
        table.clear()
        now = time.time()
        for entry in entries:
            table.add_row(*entry_cells(entry, now), key=entry.uri)
        counts = {kind: sum(1 for e in entries if e.kind == kind) for kind in ("dataset", "model", "artifact")}
        self.query_one(AreaBar).summary = " · ".join(f"{n} {kind}s" for kind, n in counts.items())

    def _current(self) -> str | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value

    def action_remove(self) -> None:
        uri = self._current()
        if uri is None:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.remove(uri)

        self.app.push_screen(ConfirmModal(f"Remove {uri}?", "Its files are deleted from the registry."), answered)

    @work(thread=True, group="data-remove")
    def remove(self, uri: str) -> None:
        from core.data.registry import KINDS

        kind = KINDS[uri.partition("://")[0]]
        self.app.engine.remove_registry_entry(kind, uri)
        self.app.call_from_thread(self.notify, f"Removed {uri}.")
        self.load()
