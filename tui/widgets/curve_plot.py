"""One metric as a line plot (textual-plotext): a line per run, log scale and smoothing switchable.

`Curve` is the plain data a plot shows (copied out of the engine's reader in a worker, so nothing
a worker changes is drawn). `CurvePlot.show(curves, log_scale=, smoothing=)` replaces what the plot
shows and redraws it once; each line is thinned to about two points per column first, so a series
of any length draws in the same time. With one line the border says `last / min / max`; with
several, plotext's legend names each line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from textual_plotext import PlotextPlot

from core.curves.compare import smooth, thin

SMOOTHING = 0.6


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
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        limit = max(16, 2 * (self.size.width or 40))
        plotted = skipped = 0
        for curve in self.curves:
            steps, values = thin(curve.steps, curve.values, limit)
            if self.smoothing:
                values = smooth(values, SMOOTHING)
            pairs = [(s, v) for s, v in zip(steps, values)
                     if not (math.isnan(v) or math.isinf(v)) and (v > 0 or not self.log_scale)]
            skipped += len(steps) - len(pairs)
            if not pairs:
                continue
            xs, ys = zip(*pairs)
            label = curve.label if len(self.curves) > 1 else None
            plt.plot(list(xs), list(ys), label=label, marker="braille")
            plotted += 1
        plt.yscale("log" if self.log_scale and plotted else "linear")
        title = [self.metric]
        if self.smoothing:
            title.append("smoothed")
        if self.log_scale:
            title.append("log" + (f", {skipped} points ≤ 0 left out" if skipped else ""))
        self.border_title = " ─ ".join(title)
        self.refresh()
