"""Run detail: one run's live log, its provisioning log, status, spec summary, metrics, ports and
tunnels, and the actions on it.

| Key | Id | Action |
| --- | --- | --- |
| escape | detail.back | Back to the runs |
| / | detail.search | Search the whole log, new lines included as they come (n / N jump between matches) |
| p | detail.provisioning | Show / hide the provisioning log |
| i | detail.info | Show / hide the spec summary and history |
| s | detail.stop | Stop the run (confirm) |
| r | detail.rerun | Rerun the run (confirm) |
| x | detail.shell | Shell inside the run (the TUI steps aside until it exits) |
| t | detail.tunnel | Open tunnels to the run's ports |
| T | detail.close_tunnels | Close the run's tunnels |
| ctrl+s | detail.save | Save the log to a file |
| m | detail.metrics | Metrics: the run's curves (tui.screens.curves) |
| f, w, n, N, g, G | log.* | Follow, wrap, next/previous match, top, bottom (in the log) |
"""

from __future__ import annotations

import time
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.containers import VerticalScroll
from textual.widgets import Input, Static

from tui.workers import ReportsWorkerErrors

from core.engine import Event, RunRecord
from tui.widgets.run_text import header_text, info_text
from tui.save_target import write_after_asking
from tui.screens.modals import ConfirmModal, PromptModal
from core.humanize import size
from tui.widgets.key_bar import KeyBar
from tui.widgets.log_view import LogView, Watch

POLL_SECONDS = 1.0
METRICS_SECONDS = 2.0


class RunDetailScreen(ReportsWorkerErrors, Screen):
    """One run: logs first, everything else one key away."""

    AREA = "run"
    BINDINGS = [
        Binding("escape", "back", "Back", id="detail.back", tooltip="Back to the runs"),
        Binding("slash", "search", "Search", id="detail.search", tooltip="Search the log"),
        Binding("p", "provisioning", "Prov. log", id="detail.provisioning", tooltip="Show or hide the provisioning log"),
        Binding("i", "info", "Info", id="detail.info", tooltip="Show or hide the spec summary and history"),
        Binding("s", "stop", "Stop", id="detail.stop", tooltip="Stop this run"),
        Binding("r", "rerun", "Rerun", id="detail.rerun", tooltip="Rerun this run"),
        Binding("x", "shell", "Shell", id="detail.shell", tooltip="Open a shell inside this run"),
        Binding("t", "tunnel", "Tunnel", id="detail.tunnel", tooltip="Open tunnels to this run's ports"),
        Binding("T", "close_tunnels", "Close tunnels", id="detail.close_tunnels", show=False,
                tooltip="Close this run's tunnels"),
        Binding("ctrl+s", "save", "Save log", id="detail.save", tooltip="Save the log to a file"),
        Binding("m", "metrics", "Metrics", id="detail.metrics", tooltip="Plot the run's metrics"),
        Binding("R", "rank", "Rank", id="detail.rank", show=False,
                tooltip="Multi-node runs: show all ranks' lines, or one rank's (cycles)"),
    ]

    class Updated(Message):
        """The run's record (and history) as last read from the store."""

        def __init__(self, run: RunRecord, events: list[Event]) -> None:
            super().__init__()
            self.run = run
            self.events = events

    class Metrics(Message):
        """A CPU/memory sample of the run (latest value wins)."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    def __init__(self, run_id: str) -> None:
        super().__init__()
        self.run_id = run_id
        self.run: RunRecord | None = None
        self.rank: int | None = None
        """The rank whose lines the log pane shows (None: every rank's, tagged)."""
        self._cpu_seen: tuple[float, float] | None = None
        """(monotonic time, CPU seconds) of the last sample, for CPU% from CPU seconds."""

    def compose(self) -> ComposeResult:
        engine_reader = self._reader
        yield Static(f" {self.run_id}", id="detail-header")
        yield LogView(reader=engine_reader(False), is_final=self._is_final, watch=self._watch, id="log")
        yield LogView(reader=engine_reader(True), is_final=self._is_final, watch=self._watch, id="prov-log",
                      classes="hidden")
        with VerticalScroll(id="detail-info", classes="hidden"):
            yield Static("", id="detail-info-text")
        yield Static("", id="detail-metrics")
        yield Input(placeholder="search the log", id="log-search", classes="hidden")
        yield KeyBar()

    def _reader(self, provisioning: bool, rank: int | None = None):
        def read(offset: int, limit: int) -> tuple[bytes, int]:
            if rank is not None:
                return self.app.engine.read_log(self.run_id, offset, limit=limit, rank=rank)
            return self.app.engine.read_log(self.run_id, offset, provisioning=provisioning, limit=limit)

        return read

    def _watch(self) -> Watch:
        """Wakes the log panes' tail workers on the run's writes (called in the worker)."""
        return self.app.engine.watch_run(self.run_id)

    def _is_final(self) -> bool:
        return self.app.engine.get(self.run_id).final

    @property
    def log_view(self) -> LogView:
        return self.query_one("#log", LogView)

    def on_mount(self) -> None:
        self.log_view.border_title = "Log"
        self.query_one("#prov-log", LogView).border_title = "Provisioning"
        self.log_view.start()
        self.query_one("#prov-log", LogView).start()
        self.log_view.focus()
        self._load()
        self.set_interval(POLL_SECONDS, self._load)
        self.set_interval(METRICS_SECONDS, self._sample)

    # --- workers --------------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="detail-load", exit_on_error=False)
    def _load(self) -> None:
        engine = self.app.engine
        run = engine.get(self.run_id)
        self.post_message(self.Updated(run, engine.events(run.id)))

    @work(thread=True, exclusive=True, group="detail-metrics", exit_on_error=False)
    def _sample(self) -> None:
        from core.backends.base import RunMetrics

        run = self.run
        if run is None or run.final or not run.handle:
            if run is not None and run.final and self._cpu_seen is not None:
                self._cpu_seen = None
                self.post_message(self.Metrics(""))  # the run ended: nothing runs to measure
            return
        engine = self.app.engine
        backend = engine.backend(run.cluster)
        if not isinstance(backend, RunMetrics):
            return
        sample = backend.sample(engine.run_context(run.id), run.handle)
        self.post_message(self.Metrics(self._metrics_text(sample, time.monotonic())))

    def _metrics_text(self, sample: dict, now: float) -> str:
        """` cpu 97%  mem 1.2G`: CPU% as the backend gives it, or from two samples of CPU seconds
        (local runs: the process group's); `cpu …` until there are two."""
        cpu = sample.get("cpu_percent")
        seconds = sample.get("cpu_seconds")
        if cpu is None and seconds is not None:
            last, self._cpu_seen = self._cpu_seen, (now, seconds)
            if last is not None and now > last[0]:
                cpu = max(0.0, (seconds - last[1]) / (now - last[0]) * 100)
        else:
            self._cpu_seen = (now, seconds or 0.0)
        mem, limit = sample.get("memory_bytes"), sample.get("memory_limit_bytes")
        text = f" cpu {cpu:.0f}%" if cpu is not None else " cpu …"
        return text + f"  mem {size(mem)}" + (f"/{size(limit)}" if limit else "")

    @work(thread=True, group="detail-tunnel", exit_on_error=False)
    def _open_tunnels(self) -> None:
        run = self.app.engine.get(self.run_id)
        if run.final:
            self.app.call_from_thread(self.notify, f"{run.name} is {run.status}: its ports are closed, "
                                      "there is nothing to open a tunnel to.", severity="warning")
            return
        if not run.ports:
            self.app.call_from_thread(self.notify, f"{run.name} declares no ports.", severity="warning")
            return
        open_ports = {t.remote_port for t in self.app.tunnels.list(run.id) if t.is_open}
        for port in run.ports:
            if port not in open_ports:
                tunnel = self.app.tunnels.open_for_run(self.app.engine, run.id, port)
                self.app.call_from_thread(self.notify, f"Port {port} of {run.name}: {tunnel.url}")
        self.post_message(self.Updated(run, self.app.engine.events(run.id)))

    @work(thread=True, exclusive=True, group="detail-shell", exit_on_error=False)
    def _check_shell(self) -> None:
        """Say at once (without leaving the screen) when the run cannot have a shell."""
        run = self.app.engine.get(self.run_id)
        if run.final:
            self.app.call_from_thread(self.notify, f"{run.name} is {run.status}: there is no shell to open.", severity="warning")
        else:
            self.app.call_from_thread(self.open_shell)

    def open_shell(self) -> None:
        """The TUI steps aside (App.suspend) while the engine hands the terminal to the run's shell;
        the screen comes back when the shell exits."""
        from textual.app import SuspendNotSupported

        from core.engine import EngineError

        try:
            with self.app.suspend():
                code = self.app.engine.open_shell(self.run_id)
        except EngineError as exc:
            self.notify(str(exc), severity="warning")
        except SuspendNotSupported:
            self.notify("This terminal cannot be handed to a shell.", severity="warning")
        else:
            self.notify(f"Shell exited with {code}.")

    @work(thread=True, group="detail-action", exit_on_error=False)
    def _act(self, verb: str) -> None:
        engine = self.app.engine
        if verb == "stop":
            run = engine.stop(self.run_id)
            self.app.call_from_thread(self.notify, f"Stopping {run.name}.")
        else:
            run = engine.rerun(self.run_id)
            self.app.call_from_thread(self.notify, f"Rerun of {run.name}: {run.id}.")

    # --- messages -------------------------------------------------------------------------------

    @on(Updated)
    def _updated(self, event: Updated) -> None:
        self.run = event.run
        tunnels = [t for t in self.app.tunnels.list(event.run.id) if t.is_open]
        self._show("#detail-header", header_text(event.run, self.app.clock(), tunnels))
        self._show("#detail-info-text", info_text(event.run, event.events))

    def _show(self, selector: str, text: Text) -> None:
        """Update a Static only when its text changed, and lay the screen out again only when its
        size may change (other lines or another width: a wrap may move). A ticking age or duration
        of the same width repaints the one widget, so a key does not wait behind a layout."""
        static = self.query_one(selector, Static)
        before = static.content
        if before != text:
            static.update(text, layout=_shape(before) != _shape(text) or _shape(text) is None)

    @on(Metrics)
    def _metrics(self, event: Metrics) -> None:
        static = self.query_one("#detail-metrics", Static)
        if static.content != event.text:
            static.update(event.text, layout=False)  # one row high (app.tcss): its size never changes

    @on(LogView.StateChanged)
    def _log_state(self, event: LogView.StateChanged) -> None:
        view = event.view
        parts = ["Log" if view.id == "log" else "Provisioning"]
        if view.id == "log" and self.rank is not None:
            parts[0] = f"Log · rank {self.rank}"
        parts.append("follow" if view.follow else "paused")
        if view.wrap:
            parts.append("wrap")
        if view.query:
            current, total = view.match_position
            parts.append(f"/{view.query} {current}/{total}")
        if view.ended:
            parts.append("ended")
        view.border_title = " ─ ".join(parts)

    # --- actions --------------------------------------------------------------------------------

    async def action_rank(self) -> None:
        """Cycle the log pane through all ranks, rank 0, rank 1, … (multi-node runs)."""
        nodes = int(((self.run.handle if self.run else None) or {}).get("nodes") or 1)
        if nodes <= 1:
            self.notify("This run has one node: its log has no ranks to choose from.")
            return
        choices: list[int | None] = [None, *range(nodes)]
        self.rank = choices[(choices.index(self.rank) + 1) % len(choices)]
        await self.log_view.remove()
        view = LogView(reader=self._reader(False, self.rank), is_final=self._is_final, watch=self._watch, id="log")
        await self.mount(view, before="#prov-log")
        view.border_title = "Log" if self.rank is None else f"Log · rank {self.rank}"
        view.start()
        view.focus()

    def action_back(self) -> None:
        search = self.query_one("#log-search", Input)
        if search.has_focus:
            search.add_class("hidden")
            self.log_view.focus()
            return
        self.app.pop_screen()

    def action_search(self) -> None:
        search = self.query_one("#log-search", Input)
        search.remove_class("hidden")
        search.focus()

    @on(Input.Submitted, "#log-search")
    def _search(self, event: Input.Submitted) -> None:
        event.input.add_class("hidden")
        target = self.query_one("#prov-log", LogView) if self.query_one("#prov-log").has_class("-active") else self.log_view
        target.search(event.value)
        target.focus()

    def action_provisioning(self) -> None:
        prov = self.query_one("#prov-log", LogView)
        showing = prov.has_class("hidden")
        prov.set_class(not showing, "hidden")
        prov.set_class(showing, "-active")
        (prov if showing else self.log_view).focus()

    def action_info(self) -> None:
        """Show the info pane and focus it (up/down scroll its history); again: hide it."""
        info = self.query_one("#detail-info")
        info.toggle_class("hidden")
        if info.has_class("hidden"):
            self.log_view.focus()
        else:
            info.focus()

    def action_stop(self) -> None:
        name = self.run.name if self.run else self.run_id
        if self.run is not None and self.run.final:
            self.notify(f"{name} is {self.run.status}: there is nothing to stop.", severity="warning")
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._act("stop")

        self.app.push_screen(ConfirmModal(f"Stop {name}?"), answered)

    def action_rerun(self) -> None:
        name = self.run.name if self.run else self.run_id

        def answered(yes: bool | None) -> None:
            if yes:
                self._act("rerun")

        self.app.push_screen(ConfirmModal(f"Rerun {name}?", "A new run from its stored spec."), answered)

    def action_shell(self) -> None:
        self._check_shell()

    def action_tunnel(self) -> None:
        self._open_tunnels()

    def action_close_tunnels(self) -> None:
        for tunnel in self.app.tunnels.list(self.run_id):
            self.app.tunnels.close(tunnel)
        self.notify("Closed this run's tunnels.")
        self._load()

    def action_metrics(self) -> None:
        from tui.screens.curves import MetricsScreen

        self.app.push_screen(MetricsScreen(self.run_id))

    def action_save(self) -> None:
        """Ask where (default: the run's folder under the home's artifacts/), then save the log;
        a missing folder elsewhere is created only after a yes, an existing file replaced only after one."""
        from core.paths import artifacts_dir

        name = f"{self.run.name if self.run else self.run_id}.log"
        home = getattr(self.app.engine, "home", None)
        default = artifacts_dir(self.run_id, home) / name

        def answered(path: str | None) -> None:
            if path:
                write_after_asking(self, Path(path).expanduser(), self.log_view.save_to,
                                   own_root=default.parent.parent, default_name=name)

        self.app.push_screen(PromptModal("Save the log to", value=str(default), paths=True), answered)


def _shape(content: object) -> tuple[int, int] | None:
    """(lines, cells) of a Text; None for anything else (its size is not known here)."""
    if not isinstance(content, Text):
        return None
    return content.plain.count("\n"), content.cell_len
