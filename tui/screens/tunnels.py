"""Tunnels: every tunnel this workstation holds open to a run's port.

| Key | Id | Action |
| --- | --- | --- |
| c | tunnels.close | Close the tunnel under the cursor |
| o | tunnels.url | Show the tunnel's URL and copy it to the clipboard |
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Static

from tui.widgets.area_bar import AreaBar
from tui.widgets.key_bar import KeyBar
from tui.widgets.row_table import row_table
from core.humanize import size

COLUMNS = (("run", "RUN"), ("ports", "LOCAL → REMOTE"), ("kind", "KIND"), ("state", "STATE"),
           ("conns", "CONN"), ("in", "IN"), ("out", "OUT"), ("reconnects", "RECONNECTS"), ("url", "URL"))
STATE_STYLES = {"open": "green", "reconnecting": "yellow", "closed": "dim", "error": "bold red"}


def tunnel_cells(tunnel, run_name: str) -> tuple:
    return (
        Text(run_name),
        f"{tunnel.local_port} → {tunnel.target[0]}:{tunnel.target[1]}",
        tunnel.kind,
        Text(tunnel.state, style=STATE_STYLES.get(tunnel.state, "")),
        str(tunnel.connections),
        size(tunnel.bytes_in),
        size(tunnel.bytes_out),
        str(tunnel.reconnects),
        tunnel.url,
    )


class TunnelsScreen(Screen):
    """Open tunnels, refreshed every second (the list lives in this process: no blocking call)."""

    AREA = "tunnels"
    BINDINGS = [
        Binding("c", "close_tunnel", "Close", id="tunnels.close", tooltip="Close the tunnel"),
        Binding("o", "url", "URL", id="tunnels.url", tooltip="Show and copy the tunnel's URL"),
    ]

    def compose(self) -> ComposeResult:
        yield AreaBar("tunnels", id="area-bar")
        yield row_table("tunnels-table", COLUMNS, "Tunnels")
        yield Static("", id="tunnel-line", classes="detail-line")
        yield KeyBar()

    def on_mount(self) -> None:
        self.refresh_table()
        self.set_interval(1.0, self.refresh_table)

    def _key(self, tunnel) -> str:
        return f"{tunnel.run_id}:{tunnel.remote_port}:{tunnel.local_port}"

    def refresh_table(self) -> None:
        table = self.query_one(DataTable)
        tunnels = {self._key(t): t for t in self.app.tunnels.list()}
        for key in {k.value for k in table.rows} - tunnels.keys():
            table.remove_row(key)
        names = self.app.run_names
        for key, tunnel in tunnels.items():
            cells = tunnel_cells(tunnel, names.get(tunnel.run_id, tunnel.run_id[:8]))
            if key in {k.value for k in table.rows}:
                for (column, _), value in zip(COLUMNS, cells):
                    table.update_cell(key, column, value)
            else:
                table.add_row(*cells, key=key)
        self.query_one(AreaBar).summary = f"{sum(1 for t in tunnels.values() if t.is_open)} open"
        self._show_current()

    @on(DataTable.RowHighlighted)
    def _show_current(self) -> None:
        """The whole URL of the tunnel under the cursor, wrapped (the table cuts long cells)."""
        tunnel = self._current()
        line = self.query_one("#tunnel-line", Static)
        text = f"{tunnel.url}  ({tunnel.state})" if tunnel is not None else ""
        if str(line.content) != text:
            line.update(text)

    def _current(self):
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return next((t for t in self.app.tunnels.list() if self._key(t) == key), None)

    def action_close_tunnel(self) -> None:
        tunnel = self._current()
        if tunnel is not None:
            self.app.tunnels.close(tunnel)
            self.notify(f"Closed {tunnel.url}.")
            self.refresh_table()

    def action_url(self) -> None:
        tunnel = self._current()
        if tunnel is not None:
            self.app.copy_to_clipboard(tunnel.url)
            self.notify(f"{tunnel.url} (copied to the clipboard)")
