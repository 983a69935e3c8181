"""The runs screen with 10,000 runs in the store: time to open (the first rows shown, and all
10,000 in the table) and the latency of a key (cursor down, to the next rendered frame), vs a bare
DataTable app given the same 10,000 rows in the same run. Targets: open < 1 s, a key < 50 ms.
"""

from __future__ import annotations

import asyncio
import statistics
import time

from _common import fresh_home
from tui_keys import key_to_frame, percentile

N = 10_000


def fill_store() -> None:
    from core.engine import Engine

    engine = Engine()
    store = engine.store
    now = time.time()
    rows = [(f"run{i:06d}abcd", f"job-{i}", "succeeded" if i % 3 else "failed", "local", i % 3 and 0 or 1,
             now - i * 60, now - i * 60, now - i * 60 + 30) for i in range(N)]
    with store.conn:
        store.conn.executemany(
            "INSERT INTO runs (id, name, status, cluster, exit_code, created_at, started_at, ended_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    assert len(engine.list_runs(include_finished=True)) == N


async def key_latency(app, table, repeat: int = 40) -> list[float]:
    """Cursor down, `repeat` times, 20 ms apart; `table` has a `cursor_row`."""
    times = []
    for _ in range(repeat):
        before = table.cursor_row
        times.append(await key_to_frame(app, "down", lambda: table.cursor_row != before))
        await asyncio.sleep(0.02)
    return times


async def ours() -> tuple[float, float, list[float]]:
    """(first rows shown, all rows in and idle, key latencies) of the workstation's runs screen."""
    from tui.app import VesslApp

    start = time.perf_counter()
    app = VesslApp()
    first = None
    async with app.run_test(size=(120, 40)) as pilot:
        def rows() -> int:
            table = app.screen.query("#runs-table") if app.screen.is_mounted else None
            return table.first().row_count if table else 0

        while (count := rows()) != N:
            if count and first is None:
                first = time.perf_counter() - start
            await asyncio.sleep(0.005)
        await pilot.pause()
        opened = time.perf_counter() - start
        return first or opened, opened, await key_latency(app, app.screen.query_one("#runs-table"))


async def baseline() -> tuple[float, list[float]]:
    from textual.app import App
    from textual.widgets import DataTable

    from core.engine import Engine

    class Bare(App):
        def compose(self):
            yield DataTable(cursor_type="row")

        def on_mount(self):
            table = self.query_one(DataTable)
            table.add_columns("NAME", "STATUS", "CLUSTER", "EXIT")
            table.add_rows([(r.name, r.status, r.cluster, str(r.exit_code)) for r in Engine().list_runs(include_finished=True)])

    start = time.perf_counter()
    app = Bare()
    async with app.run_test(size=(120, 40)) as pilot:
        while app.query_one(DataTable).row_count != N:
            await asyncio.sleep(0.005)
        await pilot.pause()
        opened = time.perf_counter() - start
        return opened, await key_latency(app, app.query_one(DataTable))


def main() -> None:
    fresh_home()
    fill_store()
    base_open, base_keys = asyncio.run(baseline())
    our_first, our_open, our_keys = asyncio.run(ours())
    print(f"open with {N} runs: vessl-tui first rows {our_first * 1000:.0f} ms, all rows {our_open * 1000:.0f} ms; "
          f"bare DataTable (all rows) {base_open * 1000:.0f} ms, ratio {our_open / base_open:.2f}x (target < 1000 ms)")
    print(f"key (cursor down) to frame: vessl-tui p50 {statistics.median(our_keys) * 1000:.1f} ms "
          f"p99 {percentile(our_keys, 0.99):.1f} ms; bare DataTable p50 {statistics.median(base_keys) * 1000:.1f} ms "
          f"p99 {percentile(base_keys, 0.99):.1f} ms (target < 50 ms)")


if __name__ == "__main__":
    main()
