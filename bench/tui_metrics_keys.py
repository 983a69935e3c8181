"""The Metrics view while a run reports 1,000 points a second: keypress-to-frame latency (p50/p99)
of `l` (log scale on/off, which redraws every plot) during the stream, against the same key on the
same screen while the run is quiet (baseline from the same run). Target: p99 < 100 ms.

The run is a separate process appending `{"step": n, "loss": …, "accuracy": …, "lr": …}` lines to
the run's $VESSL_TUI_METRICS file (three metrics a point) in 10 ms batches, as a training loop would.
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _common import fresh_home
from tui_keys import percentile, presses

RATE = 1_000
STREAM_SECONDS = 8
HISTORY = 20_000  # points already there when the view opens

WRITER = """
import json, math, sys, time
path, rate, first = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
per_tick, written, start = max(1, rate // 100), 0, time.perf_counter()
with open(path, "a", buffering=1) as out:
    while True:
        out.write("".join(json.dumps({"step": first + written + i, "loss": 2 / math.sqrt(1 + first + written + i),
                                      "accuracy": 1 - 1 / (2 + first + written + i), "lr": 3e-4})
                          + "\\n" for i in range(per_tick)))
        written += per_tick
        ahead = written / rate - (time.perf_counter() - start)
        if ahead > 0:
            time.sleep(ahead)
"""


def make_run() -> tuple[str, Path]:
    from core.curves.files import REPORTED
    from core.engine import Engine
    from core.paths import run_dir

    engine = Engine()
    run_id = "curvesrun001"
    engine.store.insert_run({"id": run_id, "name": "train", "status": "running", "cluster": "local",
                             "created_at": time.time(), "started_at": time.time()})
    path = run_dir(run_id, engine.home) / REPORTED
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f'{{"step": {s}, "loss": {2 / (1 + s) ** 0.5}, "accuracy": {1 - 1 / (2 + s)}, '
                            f'"lr": 0.0003}}\n' for s in range(HISTORY)))
    return run_id, path


async def main_async() -> None:
    from tui.app import VesslApp
    from tui.screens.curves import MetricsScreen
    from tui.widgets.curve_plot import CurvePlot

    run_id, path = make_run()
    app = VesslApp()
    async with app.run_test(size=(80, 24)) as pilot:
        app.push_screen(MetricsScreen(run_id))
        while len(app.screen.query(CurvePlot)) < 3:
            await asyncio.sleep(0.05)
        await pilot.pause(0.5)
        quiet = await presses(app, "l", lambda: app.screen.log_scale, 60)
        writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(RATE), str(HISTORY)])
        try:
            await asyncio.sleep(1)
            streamed = await presses(app, "l", lambda: app.screen.log_scale, int(STREAM_SECONDS / 0.06))
        finally:
            writer.terminate()
            writer.wait()
        loss = next(p for p in app.screen.query(CurvePlot) if p.metric == "loss")
        shown = loss.curves[0].count if loss.curves else 0
        written = sum(1 for _ in open(path))

    print(f"Metrics view, key to frame while the run reports {RATE} points/s: p50 {statistics.median(streamed) * 1000:.1f} ms, "
          f"p99 {percentile(streamed, 0.99):.1f} ms (quiet run: p50 {statistics.median(quiet) * 1000:.1f} ms, "
          f"p99 {percentile(quiet, 0.99):.1f} ms; ratio p99 {percentile(streamed, 0.99) / percentile(quiet, 0.99):.2f}x; "
          f"target p99 < 100 ms)")
    print(f"points written {written}, points the loss plot had taken in when the stream stopped {shown}")


if __name__ == "__main__":
    fresh_home()
    asyncio.run(main_async())
