"""The runs screen with 10,000 runs in the store: time to open (the first rows shown, and all
10,000 in the table) and the latency of a key (cursor down, to the next rendered frame), vs a bare
DataTable app given the same 10,000 rows. Each side runs in a process of its own (neither inherits
the other's imports or caches), rounds alternate and the side that goes first alternates too.
Targets: open < 1 s, a key < 50 ms.

Usage: python bench/tui_runs_10k.py [--rounds N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time

from _common import fresh_home, spread
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


def one(side: str) -> None:
    """Measure one side in this process; print its figures as JSON."""
    if side == "ours":
        first, opened, keys = asyncio.run(ours())
    else:
        opened, keys = asyncio.run(baseline())
        first = opened
    print(json.dumps({"first": first, "open": opened, "keys": keys}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--one", choices=("ours", "baseline"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        one(args.one)
        return
    fresh_home()
    fill_store()
    results: dict[str, list[dict]] = {"ours": [], "baseline": []}
    for round_ in range(args.rounds):
        for side in (("ours", "baseline") if round_ % 2 == 0 else ("baseline", "ours")):
            out = subprocess.run([sys.executable, __file__, "--one", side], capture_output=True, text=True, check=True)
            results[side].append(json.loads(out.stdout.strip().splitlines()[-1]))
    ours_, base = results["ours"], results["baseline"]
    print(f"open with {N} runs, {args.rounds} processes each (min / median / max): vessl-tui first rows "
          f"{spread([r['first'] for r in ours_])}, all rows {spread([r['open'] for r in ours_])}; bare DataTable "
          f"(all rows) {spread([r['open'] for r in base])}; ratio of medians "
          f"{statistics.median(r['open'] for r in ours_) / statistics.median(r['open'] for r in base):.2f}x "
          f"(target < 1000 ms)")
    our_keys = [k for r in ours_ for k in r["keys"]]
    base_keys = [k for r in base for k in r["keys"]]
    print(f"key (cursor down) to frame: vessl-tui p50 {statistics.median(our_keys) * 1000:.1f} ms "
          f"p99 {percentile(our_keys, 0.99):.1f} ms; bare DataTable p50 {statistics.median(base_keys) * 1000:.1f} ms "
          f"p99 {percentile(base_keys, 0.99):.1f} ms; ratio p50 "
          f"{statistics.median(our_keys) / statistics.median(base_keys):.2f}x (target < 50 ms)")


if __name__ == "__main__":
    main()
