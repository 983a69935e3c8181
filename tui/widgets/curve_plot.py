"""One metric as a line plot (textual-plotext): a line per run, log scale and smoothing switchable.

`Curve` is the plain data a plot shows (copied out of the engine's reader in a worker, so nothing
a worker changes is drawn). `CurvePlot.show(curves, log_scale=, smoothing=)` replaces what the plot
shows; each line is thinned to about two points per column first, so a series of any length draws
in the same time. Plotext builds the picture, and its lines are turned into Strips, in a thread
worker (that takes milliseconds of pure Python: keys stay quick while plots follow a run); the
widget paints the last picture built, line by line. With
one line the border says `last / min / max`; with several, plotext's legend names each line.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

from rich.text import Text
from textual import work
from textual.strip import Strip
from textual.widget import Widget
from textual_plotext import PlotextPlot

from core.curves.compare import smooth, thin

SMOOTHING = 0.6
#: Plotext figures share module state: one build at a time, whichever plot it is for.
_BUILD_LOCK = threading.Lock()


@dataclass(frozen=True)
class Curve:
    """A series as plotted: its label (a run's name and what differs), points and exact figures."""

    run_id: str
    label: str
    steps: tuple[float, ...]
    values: tuple[float, ...]
    last: float | None
    low: float | None
    high: float | None
    count: int


def figure(value: float | None) -> str:
    """A value short enough for a legend: `0.0123`, `5e-05`, `1.23e+04`, `-`."""
    return "-" if value is None else f"{value:.4g}"


def legend(curve: Curve) -> str:
    return f"last {figure(curve.last)}  min {figure(curve.low)}  max {figure(curve.high)}"


class CurvePlot(PlotextPlot):
    """The plot of one metric."""

    DEFAULT_CSS = """
    CurvePlot { height: 10; min-height: 8; border: round $primary-darken-1; }
    CurvePlot:focus { border: round $accent; }
    """

    can_focus = True

    def __init__(self, metric: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.metric = metric
        self.border_title = metric
        self.curves: tuple[Curve, ...] = ()
        self.log_scale = False
        self.smoothing = False
        self.picture: list[Strip] = []
        self.stale = False  # changed while scrolled out of view: built when painted next

    def show(self, curves: list[Curve], *, log_scale: bool, smoothing: bool) -> None:
        """Plot `curves` (replacing what was shown); redraws only when something changed."""
        curves_t = tuple(curves)
        if (curves_t, log_scale, smoothing) == (self.curves, self.log_scale, self.smoothing):
            return
        self.curves, self.log_scale, self.smoothing = curves_t, log_scale, smoothing
        if len(curves_t) == 1:
            self.border_subtitle = legend(curves_t[0])
        self._draw()

    def on_resize(self) -> None:
        self._draw()

    def _draw(self) -> None:
        title = [self.metric]
        if self.smoothing:
            title.append("smoothed")
        if self.log_scale:
            title.append("log")
        self.border_title = " ─ ".join(title)
        width, height = self.content_size
        if not (width and height):
            return
        if not self.in_view():
            self.stale = True  # no build for a plot nobody sees: render_line asks when it shows
            self.refresh()
            return
        self._build(width, height, self.curves, self.log_scale, self.smoothing,
                    self._get_plotext_theme_name(self.app.theme))

    def in_view(self) -> bool:
        """Whether any of the plot is inside its scrolling parent's visible region."""
        parent = self.parent
        region = self.region
        return bool(region) and (not isinstance(parent, Widget) or region.overlaps(parent.region))

    @work(thread=True, exclusive=True, group="curve-build", exit_on_error=False)
    def _build(self, width: int, height: int, curves: tuple[Curve, ...], log_scale: bool, smoothing: bool,
               theme: str) -> None:
        """(Worker) the picture of `curves` at this size, handed to the widget when built."""
        with _BUILD_LOCK:
            plt = self.plt
            plt.clear_data()
            plt.clear_figure()
            plt.plotsize(width, height)
            plt._set_size(width, height)
            plotted = skipped = 0
            for curve in curves:
                steps, values = thin(curve.steps, curve.values, max(16, 2 * width))
                if smoothing:
                    values = smooth(values, SMOOTHING)
                pairs = [(s, v) for s, v in zip(steps, values)
                         if not (math.isnan(v) or math.isinf(v)) and (v > 0 or not log_scale)]
                skipped += len(steps) - len(pairs)
                if not pairs:
                    continue
                xs, ys = zip(*pairs)
                plt.plot(list(xs), list(ys), label=curve.label if len(curves) > 1 else None, marker="braille")
                plotted += 1
            plt.yscale("log" if log_scale and plotted else "linear")
            plt.theme(theme)
            text = Text.from_ansi(plt.build())
        console = self.app.console
        picture = [Strip(list(line.render(console)), line.cell_len) for line in text.split("\n", allow_blank=True)]
        note = f"log, {skipped} points ≤ 0 left out" if log_scale and skipped else None
        self.app.call_from_thread(self._built, picture, note)

    def _built(self, picture: list[Strip], note: str | None) -> None:
        self.picture = picture
        if note:
            self.border_title = f"{self.metric}{' ─ smoothed' if self.smoothing else ''} ─ {note}"
        self.refresh()

    def render_line(self, y: int) -> Strip:
        """The built picture's line `y` (Strips made in the worker: painting costs no layout)."""
        if self.stale:
            self.stale = False
            self.call_after_refresh(self._draw)
        width = self.content_size.width
        strip = self.picture[y] if y < len(self.picture) else Strip.blank(width)
        return strip.crop_extend(0, width, self.rich_style)
