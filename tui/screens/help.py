"""The `?` overlay: every key of the screen beneath it, with what it does and its binding id."""

from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


def bindings_table(rows: list[tuple[str, str, str]]) -> Table:
    table = Table(box=None, show_header=True, header_style="bold", expand=True)
    table.add_column("KEY", no_wrap=True)
    table.add_column("ACTION")
    table.add_column("ID", style="dim", no_wrap=True)
    for key, description, binding_id in rows:
        table.add_row(key, description, binding_id)
    return table


class HelpScreen(ModalScreen[None]):
    """Keys of the current screen (escape, ? or q closes).

    | Key | Id | Action |
    | --- | --- | --- |
    | escape, ?, q | help.close | Close |
    """

    BINDINGS = [Binding("escape,question_mark,q", "close", "Close", id="help.close")]

    def __init__(self, title: str, rows: list[tuple[str, str, str]]) -> None:
        super().__init__(classes="modal")
        self.title_text = title
        self.rows = rows

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="modal-box help-box") as box:
            box.border_title = f"Keys: {self.title_text}"
            yield Static(bindings_table(self.rows), id="help-table")

    def action_close(self) -> None:
        self.dismiss(None)
