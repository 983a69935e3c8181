"""A row-cursor DataTable with its columns and border title: the small tables of the areas."""

from __future__ import annotations

from collections.abc import Iterable

from textual.widgets import DataTable


def row_table(table_id: str, columns: Iterable[tuple[str, str]], title: str) -> DataTable:
    """A DataTable `#table_id` with row cursor, `columns` as (key, label), titled `title`."""
    table: DataTable = DataTable(id=table_id, cursor_type="row")
    for key, label in columns:
        table.add_column(label, key=key)
    table.border_title = title
    return table
