"""Revisions: serve revisions of every service, their replicas, and the actions on them.

The upper table lists revisions (newest first per service); the lower one the replicas of the
revision under the cursor. The title shows the service's endpoint while it runs (with its data
plane) and its traffic split. A worker polls the store's change counter and reloads only when it moved (and every few
seconds, for the endpoint's heartbeat).

| Key | Id | Action |
| --- | --- | --- |
| n | revisions.new | New revision from a spec file (empty: the editor, on the revision template) |
| s | revisions.start | Start the revision (replicas and endpoint) |
| t | revisions.stop | Stop the revision |
| c | revisions.scale | Scale the revision to a number of replicas |
| p | revisions.reproduce | Reproduce: a new revision from this one's spec, edited before saving |
| d | revisions.delete | Delete the revision (a running one after a confirmation) |
| w | revisions.traffic | Split the service's traffic between revisions by weight |
| enter | revisions.replicas | Move between the revisions and the replicas table |
| l | revisions.logs | Logs and metrics of the replica under the cursor (replica 0 from the revisions table) |
"""

from __future__ import annotations

import threading
from pathlib import Path
from dataclasses import dataclass, field

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Static

from tui.screens.modals import ConfirmModal, PromptModal
from tui.widgets.area_bar import AreaBar
from tui.widgets.key_bar import KeyBar
from tui.widgets.row_table import row_table
from core.humanize import age
from tui.workers import ReportsWorkerErrors

REVISION_COLUMNS = (("service", "SERVICE"), ("rev", "REV"), ("message", "MESSAGE"), ("status", "STATUS"),
                    ("replicas", "REPLICAS"), ("autoscale", "AUTOSCALE"), ("created", "CREATED"))
REPLICA_COLUMNS = (("replica", "REPLICA"), ("status", "STATUS"), ("port", "PORT"), ("restarts", "RESTARTS"),
                   ("exit", "LAST EXIT"), ("run", "RUN"))
STATUS_STYLES = {
    "created": "dim", "starting": "yellow", "running": "bold green", "scaling": "cyan", "stopped": "magenta",
    "failed": "bold red", "ready": "green", "restarting": "yellow", "stopping": "magenta",
}
POLL_SECONDS = 0.5
FULL_RELOAD_EVERY = 6  # polls: the endpoint's liveness is a heartbeat, not a change


def styled(status: str) -> Text:
    return Text(status, style=STATUS_STYLES.get(status, ""))


@dataclass
class Snapshot:
    """Everything the screen shows, read in one worker pass."""

    version: int
    revisions: list = field(default_factory=list)
    services: dict = field(default_factory=dict)  # name -> (Service, live endpoint URL or None)
    replicas: dict = field(default_factory=dict)  # "service:number" -> list[Replica]


class RevisionsScreen(ReportsWorkerErrors, Screen):
    """Revisions and replicas of every service, with keys for every serve action."""

    AREA = "revisions"
    DEFAULT_CSS = """
    RevisionsScreen #revisions-table { height: 2fr; border: round $primary-muted; }
    RevisionsScreen #replicas-table { height: 1fr; border: round $primary-muted; }
    RevisionsScreen #revisions-table:focus, RevisionsScreen #replicas-table:focus { border: round $primary; }
    """
    BINDINGS = [
        Binding("n", "new", "New", id="revisions.new", tooltip="New revision from a spec file or the editor"),
        Binding("s", "start", "Start", id="revisions.start", tooltip="Start the revision"),
        Binding("t", "stop", "Stop", id="revisions.stop", tooltip="Stop the revision"),
        Binding("c", "scale", "Scale", id="revisions.scale", tooltip="Scale the revision"),
        Binding("p", "reproduce", "Reproduce", id="revisions.reproduce", tooltip="Reproduce the revision (edit first)"),
        Binding("d", "delete", "Delete", id="revisions.delete", tooltip="Delete the revision"),
        Binding("w", "traffic", "Traffic", id="revisions.traffic", tooltip="Split the service's traffic"),
        Binding("enter", "replicas", "Replicas", id="revisions.replicas", tooltip="Switch revisions / replicas",
                priority=True),  # before the focused table's own enter, which only selects
        Binding("l", "logs", "Logs", id="revisions.logs", tooltip="Logs and metrics of the replica"),
    ]

    class Loaded(Message):
        """A new snapshot of the serve state (posted by the poll worker)."""

        def __init__(self, snapshot: Snapshot) -> None:
            super().__init__()
            self.snapshot = snapshot

    def __init__(self) -> None:
        super().__init__()
        self.snapshot: Snapshot | None = None
        self._local = threading.local()
        self._polls = 0

    def compose(self) -> ComposeResult:
        yield AreaBar("revisions", id="area-bar")
        yield row_table("revisions-table", REVISION_COLUMNS, "Revisions")
        yield Static("", id="revision-line", classes="detail-line")
        yield row_table("replicas-table", REPLICA_COLUMNS, "Replicas")
        yield KeyBar()

    def on_mount(self) -> None:
        self._poll()
        self.set_interval(POLL_SECONDS, self._poll)

    @property
    def revisions_table(self) -> DataTable:
        return self.query_one("#revisions-table", DataTable)

    @property
    def replicas_table(self) -> DataTable:
        return self.query_one("#replicas-table", DataTable)

    # --- loading (workers) ----------------------------------------------------------------

    def actions(self):
        """This thread's serve façade (one store connection per worker thread)."""
        actions = getattr(self._local, "actions", None)
        if actions is None:
            from core.serve.actions import ServeActions

            actions = self._local.actions = ServeActions()
        return actions

    @work(thread=True, exclusive=True, group="revisions-poll", exit_on_error=False)
    def _poll(self) -> None:
        actions = self.actions()
        if self.snapshot is None:
            actions.reconcile()  # a keeper that was killed comes back and adopts its replicas
        version = actions.store.data_version()
        self._polls += 1
        if self.snapshot and version == self.snapshot.version and self._polls % FULL_RELOAD_EVERY:
            return
        snap = Snapshot(version=version)
        for svc in actions.store.services():
            snap.services[svc.name] = (svc, actions.live_endpoint(svc))
        snap.revisions = actions.store.revisions()
        for svc_name in snap.services:
            for rep in actions.store.replicas(svc_name):
                snap.replicas.setdefault(f"{rep.service}:{rep.revision}", []).append(rep)
        self.post_message(self.Loaded(snap))

    @on(Loaded)
    def _loaded(self, event: Loaded) -> None:
        self.snapshot = event.snapshot
        table = self.revisions_table
        keep = self.selected_ref()
        table.clear()
        now = self.app.clock()
        for rev in self.snapshot.revisions:
            replicas = f"{rev.ready}/{rev.desired} of {rev.min_replicas}..{rev.max_replicas}" if rev.active else "0"
            table.add_row(rev.service, str(rev.number), (rev.message or "")[:24], styled(rev.status), replicas,
                          rev.autoscale_label, age(rev.created_at, now), key=f"{rev.service}:{rev.number}")
        if keep and keep in {f"{r.service}:{r.number}" for r in self.snapshot.revisions}:
            table.move_cursor(row=table.get_row_index(keep), animate=False)
        self.query_one(AreaBar).summary = f"{sum(r.active for r in self.snapshot.revisions)} running"
        self._show_revision()

    @on(DataTable.RowHighlighted, "#revisions-table")
    def _highlighted(self, _event: DataTable.RowHighlighted) -> None:
        self._show_revision()

    def _show_revision(self) -> None:
        """Title with the service's endpoint and traffic; the replicas of the revision under the cursor."""
        ref = self.selected_ref()
        replicas = self.replicas_table
        keep = self._cursor_key(replicas)
        replicas.clear()
        if ref is None or self.snapshot is None:
            self.revisions_table.border_title = "Revisions"
            self.query_one("#revision-line", Static).update("")
            return
        service = ref.rsplit(":", 1)[0]
        svc, url = self.snapshot.services.get(service, (None, None))
        plane = f" ({svc.dataplane})" if url and svc and svc.dataplane else ""
        parts = [f"Service {service}", f"endpoint {url}{plane}" if url else "no endpoint"]
        if svc and svc.weights:
            parts.append("traffic " + "/".join(f"{w:g}" for w in svc.weights.values()))
        self.revisions_table.border_title = " ── ".join(parts)
        self.query_one("#revision-line", Static).update(" · ".join(parts))  # whole, wrapped
        for rep in self.snapshot.replicas.get(ref, []):
            replicas.add_row(str(rep.index), styled(rep.status), str(rep.port or "-"), str(rep.restarts),
                             rep.last_exit or "", rep.run_id or "-", key=str(rep.index))
        if keep is not None and keep in {str(r.index) for r in self.snapshot.replicas.get(ref, [])}:
            replicas.move_cursor(row=replicas.get_row_index(keep), animate=False)
        replicas.border_title = f"Replicas of {ref}"

    @staticmethod
    def _cursor_key(table: DataTable) -> str | None:
        if not table.row_count:
            return None
        try:
            return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        except Exception:  # noqa: BLE001 - a shrinking table has no cursor row
            return None

    def selected_ref(self) -> str | None:
        """`service:number` of the revision under the cursor."""
        return self._cursor_key(self.revisions_table)

    def _revision(self):
        ref = self.selected_ref()
        if ref is None or self.snapshot is None:
            self.notify("No revision selected.", severity="warning")
            return None
        return next((r for r in self.snapshot.revisions if f"{r.service}:{r.number}" == ref), None)

    # --- actions ---------------------------------------------------------------------------

    @work(thread=True, group="revisions-act", exit_on_error=False)
    def _act(self, method: str, *args, done: str = "", **kwargs) -> None:
        result = getattr(self.actions(), method)(*args, **kwargs)
        if done:
            self.app.call_from_thread(self.notify, done.format(result=result))
        self.app.call_from_thread(self._poll)

    def action_new(self) -> None:
        def chosen(path: str | None) -> None:
            if path:
                self._act("create", str(Path(path).expanduser()), done="Created revision {result.service}:{result.number}.")
            elif path == "":
                self._open_template()

        self.app.push_screen(PromptModal("New revision from a spec file (empty: open the editor)",
                                         placeholder="path/to/serve.yaml", paths=True), chosen)

    @work(thread=True, group="revisions-act", exit_on_error=False)
    def _open_template(self) -> None:
        import core.spec as spec_api

        from tui.screens.editor import EditorScreen

        text = spec_api.templates().get("vessl-revision", "")
        self.app.call_from_thread(self.app.push_screen, EditorScreen(text=text))

    def action_start(self) -> None:
        rev = self._revision()
        if rev:
            self._act("start", f"{rev.service}:{rev.number}", done="Starting {result.service}:{result.number}.")

    def action_stop(self) -> None:
        rev = self._revision()
        if rev:
            self._act("stop", f"{rev.service}:{rev.number}", done="Stopping {result.service}:{result.number}.")

    def action_scale(self) -> None:
        rev = self._revision()
        if rev is None:
            return

        def answered(text: str | None) -> None:
            if not text:
                return
            if not text.isdigit():
                self.notify(f"{text!r} is not a number of replicas.", severity="error")
                return
            self._act("scale", f"{rev.service}:{rev.number}", int(text),
                      done="Scaling {result.service}:{result.number} to {result.desired}.")

        self.app.push_screen(PromptModal(f"Replicas for {rev.service}:{rev.number} "
                                         f"({rev.min_replicas}..{rev.max_replicas})", str(rev.desired)), answered)

    def action_delete(self) -> None:
        rev = self._revision()
        if rev is None:
            return
        ref = f"{rev.service}:{rev.number}"
        if not rev.active:
            self._act("delete", ref, done="Deleted {result.service}:{result.number}.")
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._act("delete", ref, force=True, done="Deleted {result.service}:{result.number}.")

        self.app.push_screen(ConfirmModal(f"Delete running revision {ref}?", "Its replicas are stopped first."),
                             answered)

    def action_traffic(self) -> None:
        rev = self._revision()
        if rev is None or self.snapshot is None:
            return
        svc, _ = self.snapshot.services.get(rev.service, (None, None))
        current = " ".join(f"{n}={w:g}" for n, w in (svc.weights if svc else {}).items())

        def answered(text: str | None) -> None:
            if text is None:
                return
            try:
                weights = {int(n): float(w) for n, _, w in (pair.partition("=") for pair in text.split())}
            except ValueError:
                self.notify("Write the split as REVISION=WEIGHT pairs, e.g. 3=90 2=10.", severity="error")
                return
            self._act("set_traffic", rev.service, weights, done="Traffic of {result.name} updated.")

        self.app.push_screen(PromptModal(f"Traffic of {rev.service} (e.g. 3=90 2=10; empty: newest running)",
                                         current), answered)

    def action_reproduce(self) -> None:
        rev = self._revision()
        if rev is None:
            return
        spec = rev.spec()
        ref = f"{rev.service}:{rev.number}"

        def reproduce(edited) -> str:
            new = self.actions().reproduce(ref, spec=edited)
            return f"Created {new.service}:{new.number}."

        self._edit_spec(f"Reproduce {ref}: edit, then save as a new revision", spec.source_text or "",
                        spec.source_file or f"{rev.service}.yaml", reproduce)

    def _edit_spec(self, title: str, text: str, file: str, action) -> None:
        """The spec dialog; once its action succeeded, say so and reload."""
        from tui.screens.spec_modal import EditSpecModal

        def done(message: str | None) -> None:
            if message:
                self.notify(message)
                self._poll()

        self.app.push_screen(EditSpecModal(title, text, file, action), done)

    def action_replicas(self) -> None:
        target = self.replicas_table if self.revisions_table.has_focus else self.revisions_table
        target.focus()

    def action_logs(self) -> None:
        ref = self.selected_ref()
        if ref is None or self.snapshot is None:
            return
        replicas = self.snapshot.replicas.get(ref, [])
        index = self._cursor_key(self.replicas_table) if self.replicas_table.has_focus else None
        chosen = next((r for r in replicas if str(r.index) == (index or "0")), None)
        if chosen is None or not chosen.run_id:
            self.notify(f"{ref} has no replica to show.", severity="warning")
            return
        from tui.screens.run_detail import RunDetailScreen

        self.app.push_screen(RunDetailScreen(chosen.run_id))

    def on_screen_resume(self) -> None:
        self.snapshot = None
        self._poll()

