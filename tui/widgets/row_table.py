"""A row-cursor DataTable with its columns and border title: the small tables of the areas.

| Key | Id | Action |
| --- | --- | --- |
| home / end | rows.first / rows.last | First / last row (as in the runs table) |
"""

from __future__ import annotations

from collections.abc import Iterable

from textual.binding import Binding
from textual.widgets import DataTable


class RowTable(DataTable):
    """A DataTable whose home / end move the row cursor to the first / last row."""

    BINDINGS = [
        Binding("home", "first_row", "First", id="rows.first", show=False),
        Binding("end", "last_row", "Last", id="rows.last", show=False),
    ]

    def action_first_row(self) -> None:
        if self.row_count:
            self.move_cursor(row=0)

    def action_last_row(self) -> None:
        if self.row_count:
            self.move_cursor(row=self.row_count - 1)


def row_table(table_id: str, columns: Iterable[tuple[str, str]], title: str) -> DataTable:
    """A RowTable `#table_id` with row cursor, `columns` as (key, label), titled `title`."""
    table = RowTable(id=table_id, cursor_type="row")
    for key, label in columns:
        table.add_column(label, key=key)
    table.border_title = title
    return table
