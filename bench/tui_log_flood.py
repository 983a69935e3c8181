"""The log pane under a flood: keypress-to-frame latency (p50/p99) while a running run's log grows
by 100,000 lines/s, then the TUI's memory once the log holds 10,000,000 lines.

Baselines from the same run: the same key on the same screen with a quiet log, and the TUI's
memory before the log was opened. Targets: p99 < 100 ms under the flood; < 300 MB at 10M lines.
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _common import fresh_home
from tui_keys import key_to_frame, percentile

RATE = 100_000
FLOOD_SECONDS = 6
TOTAL_LINES = 10_000_000
LINE = b"step %09d loss 1.2345 lr 3e-4 tokens/s 12345\n"


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def make_run() -> tuple[str, Path]:
    from core import logs
    from core.engine import Engine

    engine = Engine()
    run_id = "floodrun0001"
    engine.store.insert_run({"id": run_id, "name": "flood", "status": "running", "cluster": "local",
                             "created_at": time.time(), "started_at": time.time()})
    path = logs.output_log(run_id, engine.home)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()
    return run_id, path


WRITER = """
import sys, time
path, rate, line = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode() + b"\\n"
per_tick, written, start = rate // 100, 0, time.perf_counter()
with open(path, "ab", buffering=0) as out:
    while True:
        out.write(b"".join(line % (written + i) for i in range(per_tick)))
        written += per_tick
        ahead = written / rate - (time.perf_counter() - start)
        if ahead > 0:
            time.sleep(ahead)
"""


class Writer:
    """A separate process (as a run is) appending RATE lines per second in 10 ms batches."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", WRITER, str(self.path), str(RATE), LINE.decode().strip()])

    def stop(self) -> None:
        assert self.proc is not None
        self.proc.terminate()
        self.proc.wait()

    @property
    def lines(self) -> int:
        return self.path.stat().st_size // len(LINE % 0)


async def latencies(app, log, count: int) -> list[float]:
    """`w` (wrap on/off) on the log pane, `count` times, 50 ms apart."""
    times = []
    for _ in range(count):
        before = log.wrap
        times.append(await key_to_frame(app, "w", lambda: log.wrap != before))
        await asyncio.sleep(0.05)
    return times


async def main_async() -> None:
    from tui.app import VesslApp
    from tui.screens.run_detail import RunDetailScreen

    run_id, path = make_run()
    app = VesslApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.5)
        before = rss_mb()
        app.push_screen(RunDetailScreen(run_id))
        await pilot.pause(0.5)
        log = app.screen.query_one("#log")
        quiet = await latencies(app, log, 60)
        writer = Writer(path)
        writer.start()
        await asyncio.sleep(1)
        flood = await latencies(app, log, int(FLOOD_SECONDS / 0.06))
        writer.stop()
        shown, written = log.line_count, writer.lines
        with open(path, "ab") as out:  # fill up to 10M lines quickly
            block = b"".join(LINE % i for i in range(100_000))
            for _ in range((TOTAL_LINES - writer.lines) // 100_000):
                out.write(block)
            rest = (TOTAL_LINES - writer.lines) % 100_000
            out.write(block[: rest * len(LINE % 0)])
        while log.line_count < TOTAL_LINES:
            await asyncio.sleep(0.2)
        await pilot.press("g")
        await pilot.pause(0.5)
        await pilot.press("G")
        await pilot.pause(0.5)
        after = rss_mb()

    print(f"key to frame under {RATE} lines/s: p50 {statistics.median(flood) * 1000:.1f} ms, "
          f"p99 {percentile(flood, 0.99):.1f} ms (quiet log: p50 {statistics.median(quiet) * 1000:.1f} ms, "
          f"p99 {percentile(quiet, 0.99):.1f} ms; ratio p99 {percentile(flood, 0.99) / percentile(quiet, 0.99):.2f}x; target p99 < 100 ms)")
    print(f"lines written during the flood {written}, lines in the pane when it stopped {shown}")
    print(f"memory: {after:.0f} MB with {TOTAL_LINES} lines ({path.stat().st_size / 2**20:.0f} MB of log) in the pane, "
          f"{before:.0f} MB before opening it (target < 300 MB)")


if __name__ == "__main__":
    fresh_home()
    asyncio.run(main_async())
