"""Clusters & presets: every cluster with its kind, reachability and capacity; presets with what
they ask; test a connection; trust an SSH host key after seeing its fingerprint. With the cursor on
a Slurm cluster, a third table shows its partitions, nodes (state, CPUs, memory, GRES used/total)
and queue (pending jobs with the scheduler's reason), read again on `t`.

| Key | Id | Action |
| --- | --- | --- |
| t | clusters.test | Test the connection to the cluster under the cursor |
| k | clusters.trust | Trust the cluster's SSH host key (shows the fingerprint, confirm) |
| ctrl+l | clusters.reload | Reload clusters and presets from the config |
"""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Static

from tui.workers import ReportsWorkerErrors

from core.backends.base import ClusterCheck
from tui.screens.modals import ConfirmModal
from tui.widgets.area_bar import AreaBar
from tui.widgets.key_bar import KeyBar
from tui.widgets.row_table import row_table

CLUSTER_COLUMNS = (("name", "NAME"), ("kind", "KIND"), ("reach", "REACHABLE"), ("cpus", "CPUS"),
                   ("mem", "MEMORY"), ("gpus", "GPUS"), ("message", "MESSAGE"))
SCHEDULER_COLUMNS = (("what", "SLURM"), ("state", "STATE"), ("cpus", "CPUS"), ("mem", "MEMORY"),
                     ("gpus", "GPUS"), ("detail", "DETAIL"))
PRESET_COLUMNS = (("name", "PRESET"), ("cpu", "CPU"), ("memory", "MEMORY"), ("gpu", "GPU"), ("cluster", "CLUSTER"),
                  ("description", "DESCRIPTION"))


def capacity_cells(check: ClusterCheck | None) -> tuple[Text, str, str, str, str]:
    """(reachable, cpus, memory, gpus, message) cells for one cluster check (None: checking)."""
    if check is None:
        return Text("checking", style="dim"), "-", "-", "-", ""
    reach = Text("yes", style="green") if check.reachable else Text("no", style="bold red")
    cap = check.capacity
    if cap is None:
        return reach, "-", "-", "-", check.message
    cpus = "-" if cap.cpus is None else f"{cap.cpus:g}"
    mem = "-" if cap.memory_gb is None else f"{cap.memory_gb:.0f}G"
    names: dict[str, int] = {}
    for gpu in cap.gpus:
        names[gpu.get("name", "GPU")] = names.get(gpu.get("name", "GPU"), 0) + 1
    gpus = ", ".join(f"{n}×{name}" for name, n in names.items()) or "none"
    return reach, cpus, mem, gpus, check.message


def scheduler_rows(view: dict) -> list[tuple]:
    """Rows of the Slurm table: partitions, then nodes, then the queue."""
    rows: list[tuple] = []
    for part in view["partitions"]:
        rows.append((Text(f"partition {part.name}{' *' if part.default else ''}", style="bold"),
                     f"{part.free_nodes}/{len(part.nodes)} idle", f"{part.cpus}/node", f"{part.memory_mb}M/node",
                     f"{part.gpus}/node", Text(f"{part.usable_nodes} of {len(part.nodes)} nodes up")))
    for node in view["nodes"]:
        rows.append((Text(f"node {node.name}"), node.state, f"{node.cpus_alloc}/{node.cpus}",
                     f"{node.memory_alloc_mb}/{node.memory_mb}M", f"{node.gpus_used}/{node.gpus}",
                     Text(node.addr)))
    for job in view["queue"]:
        where = job.where if not job.where.startswith("(") else f"waiting: {job.where.strip('()')}"
        rows.append((Text(f"job {job.job_id} {job.name}"), job.state.lower(), "-", "-", f"{job.nodes} node(s)",
                     Text(f"{job.user} · {job.partition} · {job.time} · {where}")))
    if not view["queue"]:
        rows.append((Text("queue", style="dim"), "empty", "-", "-", "-", Text("")))
    return rows


class ClustersScreen(ReportsWorkerErrors, Screen):
    """Clusters (top) and presets (bottom)."""

    AREA = "clusters"
    BINDINGS = [
        Binding("t", "test", "Test", id="clusters.test", tooltip="Test the connection to the cluster"),
        Binding("k", "trust", "Trust key", id="clusters.trust", tooltip="Trust the cluster's SSH host key"),
        Binding("ctrl+l", "reload", "Reload", id="clusters.reload", tooltip="Reload clusters and presets"),
    ]

    class Listed(Message):
        def __init__(self, clusters: list, presets: list) -> None:
            super().__init__()
            self.clusters = clusters
            self.presets = presets

    class Checked(Message):
        def __init__(self, name: str, check: ClusterCheck) -> None:
            super().__init__()
            self.name = name
            self.check = check

    class Scheduled(Message):
        """A Slurm cluster's partitions, nodes and queue (or why they could not be read)."""

        def __init__(self, name: str, view: dict | None, error: str | None = None) -> None:
            super().__init__()
            self.name = name
            self.view = view
            self.error = error

    class HostKey(Message):
        def __init__(self, name: str, state: str, key_type: str, fingerprint: str) -> None:
            super().__init__()
            self.name = name
            self.state = state
            self.key_type = key_type
            self.fingerprint = fingerprint

    _messages: dict[str, str]
    """Cluster -> the sentence its last check gave (shown whole under the table)."""

    def compose(self) -> ComposeResult:
        self._messages = {}
        yield AreaBar("clusters", id="area-bar")
        yield row_table("clusters-table", CLUSTER_COLUMNS, "Clusters")
        scheduler = row_table("scheduler-table", SCHEDULER_COLUMNS, "Slurm")
        scheduler.add_class("hidden")
        yield scheduler
        yield Static("", id="cluster-line", classes="detail-line")
        yield row_table("presets-table", PRESET_COLUMNS, "Presets")
        yield KeyBar()

    def on_mount(self) -> None:
        self._kinds: dict[str, str] = {}
        self._list()

    @work(thread=True, exclusive=True, group="clusters-list", exit_on_error=False)
    def _list(self, reload: bool = False) -> None:
        engine = self.app.engine
        if reload:
            engine.reload_config()  # a config with problems says so; the clusters shown stay
        self.post_message(self.Listed(engine.clusters(), engine.presets()))
        if reload:
            self.app.call_from_thread(self.notify, "Read the config file again.")

    @work(thread=True, group="clusters-check", exit_on_error=False)
    def _check(self, name: str) -> None:
        self.post_message(self.Checked(name, self.app.engine.check_cluster(name)))

    @work(thread=True, exclusive=True, group="clusters-scheduler", exit_on_error=False)
    def _schedule(self, name: str) -> None:
        from core.engine import EngineError

        try:
            self.post_message(self.Scheduled(name, self.app.engine.scheduler_view(name)))
        except EngineError as exc:
            self.post_message(self.Scheduled(name, None, str(exc)))

    @on(DataTable.RowHighlighted, "#clusters-table")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        name = event.row_key.value
        scheduler = self.query_one("#scheduler-table", DataTable)
        slurm = self._kinds.get(name) == "slurm"
        scheduler.set_class(not slurm, "hidden")
        if slurm:
            scheduler.border_title = f"Slurm · {name}"
            self._schedule(name)

    @on(Scheduled)
    def _scheduled(self, event: Scheduled) -> None:
        if self._current() != event.name:
            return
        table = self.query_one("#scheduler-table", DataTable)
        table.clear()
        if event.view is None:
            table.add_row(Text("scheduler", style="bold red"), "-", "-", "-", "-", Text(event.error or "no answer"))
            return
        for row in scheduler_rows(event.view):
            table.add_row(*row)

    @on(Listed)
    def _listed(self, event: Listed) -> None:
        self._kinds = {c.name: c.kind for c in event.clusters}
        table = self.query_one("#clusters-table", DataTable)
        table.clear()
        for cluster in event.clusters:
            table.add_row(Text(cluster.name), cluster.kind, *capacity_cells(None), key=cluster.name)
            self._check(cluster.name)
        presets = self.query_one("#presets-table", DataTable)
        presets.clear()
        for preset in event.presets:
            presets.add_row(Text(preset.name), "-" if preset.cpu is None else f"{preset.cpu:g}", preset.memory or "-",
                            "-" if preset.gpu is None else str(preset.gpu), preset.cluster or "any",
                            Text(preset.description or ""), key=preset.name)

    @on(Checked)
    def _checked(self, event: Checked) -> None:
        table = self.query_one("#clusters-table", DataTable)
        if event.name not in {key.value for key in table.rows}:
            return
        for column, value in zip(("reach", "cpus", "mem", "gpus", "message"), capacity_cells(event.check)):
            table.update_cell(event.name, column, value if isinstance(value, Text) else Text(value), update_width=True)
        self._messages[event.name] = event.check.message
        self._show_message()

    @on(DataTable.RowHighlighted, "#clusters-table")
    def _show_message(self) -> None:
        """The whole sentence of the cluster under the cursor, wrapped (the table cuts it)."""
        name = self._current()
        message = self._messages.get(name or "", "")
        self.query_one("#cluster-line", Static).update(f"{name}: {message}" if name and message else "")

    def _current(self) -> str | None:
        table = self.query_one("#clusters-table", DataTable)
        if not table.row_count:
            return None
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value

    def action_reload(self) -> None:
        self._list(reload=True)

    def action_test(self) -> None:
        name = self._current()
        if name:
            for column, value in zip(("reach", "cpus", "mem", "gpus", "message"), capacity_cells(None)):
                self.query_one("#clusters-table", DataTable).update_cell(name, column, value)
            self._check(name)
            if self._kinds.get(name) == "slurm":
                self._schedule(name)

    def action_trust(self) -> None:
        name = self._current()
        if name:
            self._host_key(name)

    @work(thread=True, group="clusters-key", exit_on_error=False)
    def _host_key(self, name: str) -> None:
        from core.backends.base import HostKeys

        backend = self.app.engine.backend(name)
        if not isinstance(backend, HostKeys):
            self.app.call_from_thread(self.notify, f"{name} has no SSH host key to trust.", severity="warning")
            return
        self.post_message(self.HostKey(name, *backend.host_key_status()))

    @on(HostKey)
    def _ask_trust(self, event: HostKey) -> None:
        if event.state == "known":
            self.notify(f"The host key of {event.name} is already trusted ({event.key_type} {event.fingerprint}).")
            return
        if event.state == "changed":
            self.notify(f"The host key of {event.name} CHANGED ({event.key_type} {event.fingerprint}); "
                        "remove the old key from known_hosts yourself if the change is expected.", severity="error")
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._trust(event.name)

        self.app.push_screen(ConfirmModal(f"Trust the host key of {event.name}?", f"{event.key_type} {event.fingerprint}"),
                             answered)

    @work(thread=True, group="clusters-key", exit_on_error=False)
    def _trust(self, name: str) -> None:
        fingerprint = self.app.engine.backend(name).trust_host_key()
        self.app.call_from_thread(self.notify, f"Trusted {name} ({fingerprint}).")
        self._check(name)
