"""Metrics: a run's own curves (loss, accuracy, ...), one plot per metric, live while it runs.

Reached with `m` from run detail. The screen reads the run's series through the engine
(`Engine.curves`) in a worker every REFRESH_SECONDS, only what was appended since the last read,
and redraws the plots only when a point arrived or a toggle changed. `CurvesScreen` is also the
base of Compare (several runs on each plot).

| Key | Id | Action |
| --- | --- | --- |
| escape | curves.back | Back |
| l | curves.log_scale | Log scale on / off (points ≤ 0 are left out and counted) |
| z | curves.smoothing | Smoothing on / off (exponential moving average, weight 0.6) |
| up, down, pgup, pgdn | - | Scroll through the plots |
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Static

from tui.widgets.curve_plot import Curve, CurvePlot
from tui.widgets.key_bar import KeyBar
from tui.workers import ReportsWorkerErrors

if TYPE_CHECKING:
    from core.curves.series import CurveReader
    from core.engine import Engine

REFRESH_SECONDS = 1.0
EMPTY = ("No metrics yet. They come from lines the run prints, like `loss=0.3 step=10` or "
         "{'loss': 0.3, 'epoch': 1.0}, and from the JSON lines it writes to $VESSL_TUI_METRICS.")


class HeaderLine(Widget):
    """One line of text that repaints without a relayout (Static.update relays out the screen)."""

    DEFAULT_CSS = "HeaderLine { height: 1; background: $panel; }"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.text = Text(" …")

    def show(self, text: Text) -> None:
        if text != self.text:
            self.text = text
            self.refresh()

    def render(self) -> Text:
        return self.text


class CurvesScreen(ReportsWorkerErrors, Screen):
    """Plots of the metrics of `run_ids`: one plot per metric, one line per run."""

    AREA = "run"
    CSS_PATH = "curves.tcss"
    BINDINGS = [
        Binding("escape", "back", "Back", id="curves.back", tooltip="Back"),
        Binding("l", "log_scale", "Log scale", id="curves.log_scale", tooltip="Log scale on or off"),
        Binding("z", "smoothing", "Smooth", id="curves.smoothing", tooltip="Smoothing on or off"),
    ]

    class Loaded(Message):
        """What the runs reported so far: metric -> one Curve per run (in run order)."""

        def __init__(self, curves: dict[str, list[Curve]], names: dict[str, str], left_out: int = 0) -> None:
            super().__init__()
            self.curves = curves
            self.names = names
            self.left_out = left_out

    def __init__(self, run_ids: list[str]) -> None:
        super().__init__()
        self.run_ids = list(run_ids)
        self.readers: dict[str, CurveReader] | None = None
        self.labels: dict[str, str] = {}
        self.curves: dict[str, list[Curve]] = {}
        self.names: dict[str, str] = {}
        self.log_scale = False
        self.smoothing = False
        self.left_out = 0  # metric names past the reader's limit (not plotted)
        self._reading = False

    def compose(self) -> ComposeResult:
        yield HeaderLine(id="curves-header")
        with VerticalScroll(id="curves-plots"):
            yield Static(EMPTY, id="curves-empty")
        yield from self.compose_extra()
        yield KeyBar()

    def compose_extra(self) -> ComposeResult:
        """Widgets a subclass adds under the plots."""
        return iter(())

    def on_mount(self) -> None:
        self.query_one("#curves-plots").focus()
        self.refresh_curves()
        self.set_interval(REFRESH_SECONDS, self.refresh_curves)

    # --- reading ------------------------------------------------------------------------------

    def refresh_curves(self) -> None:
        """Read what the runs appended, in a worker (one read at a time; none while another
        screen is on top)."""
        if not self._reading and self.is_current:
            self._reading = True
            self._read()

    def run_labels(self, engine: "Engine", names: dict[str, str]) -> dict[str, str]:
        """The label of each run's line: its name (Compare: what differs between the runs)."""
        return dict(names)

    @work(thread=True, exclusive=True, group="curves-read", exit_on_error=False)
    def _read(self) -> None:
        try:
            engine = self.app.engine
            first = self.readers is None
            if self.readers is None:
                self.names = {run_id: engine.get(run_id).name for run_id in self.run_ids}
                self.labels = self.run_labels(engine, self.names)
                self.readers = {run_id: engine.curves(run_id) for run_id in self.run_ids}
            changed = [reader.poll() for reader in self.readers.values()]
            if not (first or any(changed)):
                return
            curves: dict[str, list[Curve]] = {}
            for run_id, reader in self.readers.items():
                for name, series in reader.series().items():
                    steps, values = series.points()
                    curves.setdefault(name, []).append(Curve(
                        run_id, self.labels.get(run_id, run_id), tuple(steps), tuple(values),
                        series.last, series.min, series.max, series.count))
            left_out = len(set().union(*(reader.left_out for reader in self.readers.values())))
            self.post_message(self.Loaded(curves, self.names, left_out))
        finally:
            self._reading = False

    @on(Loaded)
    def _loaded(self, event: Loaded) -> None:
        self.curves = event.curves
        self.left_out = event.left_out
        self.draw()

    # --- drawing ------------------------------------------------------------------------------

    def draw(self) -> None:
        """Show every metric's plot (new metrics get a plot), then the header."""
        box = self.query_one("#curves-plots", VerticalScroll)
        empty = self.query_one("#curves-empty")
        if empty.display == bool(self.curves):
            empty.display = not self.curves
        plots = {plot.metric: plot for plot in box.query(CurvePlot)}
        new = [CurvePlot(metric) for metric in self.curves if metric not in plots]
        if new:
            box.mount_all(new)
            plots.update((plot.metric, plot) for plot in new)
        for metric, curves in self.curves.items():
            plots[metric].show(curves, log_scale=self.log_scale, smoothing=self.smoothing)
        self.update_header()

    def header(self) -> Text:
        unique = list(dict.fromkeys(self.names.values()))
        who = ", ".join(unique) if len(unique) <= 3 else f"{len(self.names)} runs"
        if len(self.names) > 1:
            who += f" ({len(self.names)} runs)" if len(unique) <= 3 else ""
        text = Text(f" {who or self.run_ids}", style="bold")
        text.append(f"  {len(self.curves)} metric{'' if len(self.curves) == 1 else 's'}")
        if self.left_out:
            text.append(f" ({self.left_out} more not plotted: see `vessl-tui metrics`)")
        text.append(f"  log scale {'on' if self.log_scale else 'off'}  smoothing {'on' if self.smoothing else 'off'}")
        return text

    def update_header(self) -> None:
        self.query_one("#curves-header", HeaderLine).show(self.header())

    # --- actions ------------------------------------------------------------------------------

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_log_scale(self) -> None:
        self.log_scale = not self.log_scale
        self.draw()

    def action_smoothing(self) -> None:
        self.smoothing = not self.smoothing
        self.draw()


class MetricsScreen(CurvesScreen):
    """One run's metrics (from run detail)."""

    def __init__(self, run_id: str) -> None:
        super().__init__([run_id])
