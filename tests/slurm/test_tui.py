"""The workstation on a Slurm cluster (Pilot): the cluster browser and the log pane's rank selector."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import DataTable

from core.engine import Engine
from tests.slurm.conftest import task
from tests.tui.conftest import until
from tui.app import VesslApp
from tui.screens.run_detail import RunDetailScreen
from tui.widgets.log_view import LogView


@pytest.fixture
def engine(hpc):
    eng = Engine()
    yield eng
    for record in eng.list_runs(include_finished=False):
        eng.stop(record.id)


def _rows(table: DataTable) -> list[str]:
    return [" | ".join(str(cell) for cell in table.get_row_at(i)) for i in range(table.row_count)]


async def test_cluster_browser_shows_partitions_nodes_and_queue(engine, tmp_path: Path) -> None:
    held = engine.submit(task(tmp_path, "queued-one", ["sleep 300"], nodes=2, resources={"gpu": 1}), cluster="hpc")
    engine_wait = lambda: (r := engine.get(held.id)).handle and r.status == "running"  # noqa: E731
    app = VesslApp(engine=engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, engine_wait, timeout=60)
        await pilot.press("3")
        clusters = app.screen.query_one("#clusters-table", DataTable)
        scheduler = app.screen.query_one("#scheduler-table", DataTable)
        await until(pilot, lambda: "hpc" in {k.value for k in clusters.rows})
        assert not scheduler.display  # the cursor is on `local`
        clusters.move_cursor(row=clusters.get_row_index("hpc"))
        await until(pilot, lambda: scheduler.display and any("job" in r for r in _rows(scheduler)), timeout=30)
        for _ in range(60):  # the job may still wait for its first scheduling pass: read again with `t`
            if "running" in " ".join(_rows(scheduler)):
                break
            await pilot.press("t")
            await pilot.pause(0.5)
        rows = _rows(scheduler)
        assert rows[0].startswith("partition debug * | 0/2 idle | 2/node | 4096M/node | 2/node")
        nodes = [r for r in rows if r.startswith("node ")]
        assert [r.split(" | ")[0] for r in nodes] == ["node n1", "node n2"]
        assert all(" | 1/2 | " in r for r in nodes)  # GRES: one of two GPUs used on each node
        job = engine.get(held.id).handle["job_id"]
        assert any(r.startswith(f"job {job} queued-one | running | ") for r in rows)
        assert scheduler.border_title == "Slurm · hpc"
        clusters.move_cursor(row=clusters.get_row_index("local"))
        await until(pilot, lambda: not scheduler.display)


async def test_rank_selector_shows_one_ranks_lines(engine, tmp_path: Path) -> None:
    run = engine.submit(task(tmp_path, "ranked", ['for i in 1 2 3; do echo "from $DSTACK_NODE_RANK #$i"; done'],
                             nodes=2), cluster="hpc")
    assert engine.wait(run.id, timeout=90).status == "succeeded"
    app = VesslApp(engine=engine)
    async with app.run_test(size=(100, 30)) as pilot:
        app.push_screen(RunDetailScreen(run.id))
        await until(pilot, lambda: isinstance(app.screen, RunDetailScreen) and app.screen.run is not None)
        screen = app.screen

        def shown() -> list[str]:
            view = screen.query_one("#log", LogView)
            return [view.get_line(i) or "" for i in range(view.line_count)]

        await until(pilot, lambda: len(shown()) == 6)
        assert sorted(shown()) == sorted(f"[rank {r}] from {r} #{i}" for r in (0, 1) for i in (1, 2, 3))
        await pilot.press("R")
        await until(pilot, lambda: shown() == ["from 0 #1", "from 0 #2", "from 0 #3"])
        assert screen.query_one("#log", LogView).border_title.startswith("Log · rank 0")
        await pilot.press("R")
        await until(pilot, lambda: shown() == ["from 1 #1", "from 1 #2", "from 1 #3"])
        await pilot.press("R")
        await until(pilot, lambda: len(shown()) == 6 and shown()[0].startswith("[rank "))


async def test_gpu_area_shows_each_nodes_gres_and_the_run_holding_it(engine, tmp_path: Path) -> None:
    from tui.screens.gpus import GpusScreen

    run = engine.submit(task(tmp_path, "holder", ["sleep 300"], nodes=2, resources={"gpu": 1}), cluster="hpc")
    until_running = lambda: "running on" in engine.read_log(run.id, provisioning=True)[0].decode()  # noqa: E731
    app = VesslApp(engine=engine)
    async with app.run_test(size=(120, 60)) as pilot:
        await until(pilot, until_running, timeout=60)
        await pilot.press("4")
        await until(pilot, lambda: isinstance(app.screen, GpusScreen)
                    and {"hpc/n1", "hpc/n2"} <= set(app.screen.panels), timeout=30)
        for node in ("hpc/n1", "hpc/n2"):
            panel = app.screen.panels[node]
            await until(pilot, lambda: len(panel.meters) == 2 and panel.meters[0].holder is not None, timeout=30)
            assert panel.meters[0].holder == f"{run.id} (holder)"  # GRES index 0 of each node, as Slurm gave it
            assert panel.meters[1].holder is None
