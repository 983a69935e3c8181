"""The Metrics view and Compare as a user sees them: real local runs, Pilot, and SVG snapshots."""

from __future__ import annotations

import json

import pytest

from core.curves.files import REPORTED
from core.curves.series import CurveReader
from core.engine import RunRecord
from tests.tui.conftest import FIXED_NOW, local_spec, until
from tui.app import VesslApp
from tui.screens.compare import CompareScreen
from tui.screens.curves import MetricsScreen
from tui.screens.run_detail import RunDetailScreen
from tui.widgets.curve_plot import CurvePlot

#: 10,000 Hugging Face Trainer lines, paced so that the run is still going while the view draws.
HF_10K = """
python3 - <<'PY'
import time
for step in range(1, 10001):
    print({'loss': round(3.0 / (1 + step / 500), 5), 'learning_rate': 5e-05, 'epoch': step / 1000}, flush=True)
    if step % 500 == 0:
        time.sleep(0.3)
PY
"""


def plots(app) -> dict[str, CurvePlot]:
    return {plot.metric: plot for plot in app.screen.query(CurvePlot)}


async def test_the_metrics_view_shows_the_curve_while_the_run_goes(engine, write_spec) -> None:
    run = engine.submit(str(write_spec("hf", local_spec("hf", HF_10K))))
    app = VesslApp(engine=engine)
    async with app.run_test(size=(80, 24)) as pilot:
        app.push_screen(RunDetailScreen(run.id))
        await until(pilot, lambda: isinstance(app.screen, RunDetailScreen))
        await pilot.press("m")
        assert isinstance(app.screen, MetricsScreen)
        await until(pilot, lambda: "loss" in plots(app), timeout=30)
        seen_live = plots(app)["loss"].curves[0].count
        assert engine.get(run.id).status == "running" and 0 < seen_live < 10_000
        assert set(plots(app)) == {"loss", "learning_rate"}  # epoch is the x axis
        await until(pilot, lambda: plots(app)["loss"].curves[0].count == 10_000, timeout=60)
        loss = plots(app)["loss"]
        assert loss.curves[0].steps[-1] == 10.0 and loss.curves[0].last == 0.14286
        assert "last 0.1429" in str(loss.border_subtitle) and "max 2.994" in str(loss.border_subtitle)
        assert len(loss.curves[0].steps) <= 2001  # bounded for plotting, exact figures kept
        drawn = loss.render_line(3).text + loss.render_line(4).text
        assert drawn.strip(), "the plot draws something"
        await pilot.press("l")
        assert "log" in str(loss.border_title)
        await pilot.press("z")
        assert "smoothed" in str(loss.border_title)
        assert "log scale on" in str(app.screen.query_one("#curves-header").text)
        await pilot.press("escape")
        assert isinstance(app.screen, RunDetailScreen)


SWEEP = "python3 -c \"import os\nlr = float(os.environ['LR'])\nfor s in range(1, 51):\n    print(f'step={s} loss={1 / (1 + lr * s):.5f}')\""


async def test_compare_three_runs_names_lr_in_the_legend_and_sorts(engine, write_spec) -> None:
    ids = []
    for lr in ("0.01", "0.1", "1.0"):
        text = local_spec("sweep", SWEEP) + f"env:\n  LR: \"{lr}\"\n"
        ids.append(engine.submit(str(write_spec(f"sweep-{lr}", text))).id)
    for run_id in ids:
        assert engine.wait(run_id, timeout=60).status == "succeeded"
        engine.curves(run_id, settled=True)
    app = VesslApp(engine=engine)
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.screen.query_one("#runs-table")
        await until(pilot, lambda: table.row_count == 3)
        await pilot.press("space", "space", "space", "c")
        assert isinstance(app.screen, CompareScreen)
        await until(pilot, lambda: "loss" in plots(app) and len(plots(app)["loss"].curves) == 3)
        labels = sorted(c.label for c in plots(app)["loss"].curves)
        assert labels == ["LR=0.01", "LR=0.1", "LR=1.0"]
        grid = app.screen.query_one("#compare-table")
        rows = [grid.get_row_at(i) for i in range(grid.row_count)]
        assert [r[0] for r in rows] == ["LR=0.01", "LR=0.1", "LR=1.0"]
        await pilot.press("o")  # by the final loss
        rows = [grid.get_row_at(i) for i in range(grid.row_count)]
        assert [r[0] for r in rows] == ["LR=1.0", "LR=0.1", "LR=0.01"]
        assert rows[0][1] == "0.01961"
        await pilot.press("O")
        assert grid.get_row_at(0)[0] == "LR=0.01"


# --- snapshots: a stand-in engine over fixed files ----------------------------------------------

RUNS = {
    "a1": RunRecord(id="a1", name="sweep", status="succeeded", cluster="local", created_at=FIXED_NOW),
    "b2": RunRecord(id="b2", name="sweep", status="running", cluster="local", created_at=FIXED_NOW),
}


class FixedEngine:
    def __init__(self, folder):
        self.folder = folder
        for index, (run_id, lr) in enumerate((("a1", 0.1), ("b2", 0.5))):
            run_dir = folder / run_id
            run_dir.mkdir()
            lines = [json.dumps({"step": s, "loss": round(2.5 / (1 + lr * s) + 0.05 * ((s * 7) % 5), 4),
                                 "accuracy": round(min(0.99, 0.3 + lr * s / 60), 4),
                                 "lr": round(lr * 0.99 ** s, 6)}) for s in range(1, 121)]
            (run_dir / REPORTED).write_text("\n".join(lines[: 120 - 40 * index]) + "\n")
        self.settings = {"a1": {"LR": "0.1", "$cmd": "python train.py"},
                         "b2": {"LR": "0.5", "$cmd": "python train.py"}}

    def data_version(self) -> int:
        return 1

    def reconcile(self) -> list:
        return []

    def events(self, run_id: str) -> list:
        return []

    def list_runs(self, include_finished: bool = True, **_: object) -> list[RunRecord]:
        return list(RUNS.values())

    def get(self, ref: str) -> RunRecord:
        return RUNS[ref]

    def curves(self, ref: str) -> CurveReader:
        return CurveReader(self.folder / ref)

    def run_env(self, ref: str) -> dict[str, str]:
        return self.settings[ref]


def _app(tmp_path) -> VesslApp:
    return VesslApp(engine=FixedEngine(tmp_path), clock=lambda: FIXED_NOW, keymap={})


@pytest.mark.parametrize("size", [(80, 24)])
def test_metrics_view_snapshot(snap_compare, tmp_path, size) -> None:
    async def open_metrics(pilot) -> None:
        pilot.app.push_screen(MetricsScreen("a1"))
        await until(pilot, lambda: len(plots(pilot.app)) == 3)
        await pilot.pause()

    assert snap_compare(_app(tmp_path), terminal_size=size, run_before=open_metrics)


async def test_a_plot_out_of_view_is_drawn_when_scrolled_to(tmp_path) -> None:
    app = _app(tmp_path)
    async with app.run_test(size=(80, 18)) as pilot:  # room for two plots
        app.push_screen(MetricsScreen("a1"))
        await until(pilot, lambda: len(plots(app)) == 3 and plots(app)["accuracy"].picture)
        lowest = plots(app)["lr"]
        assert not lowest.in_view() and not lowest.picture  # nothing built for what nobody sees
        await pilot.press("end")
        await until(pilot, lambda: lowest.in_view() and bool(lowest.picture))
        assert "last 0.02994" in str(lowest.border_subtitle)


@pytest.mark.parametrize("size", [(80, 24)])
def test_compare_snapshot(snap_compare, tmp_path, size) -> None:
    async def open_compare(pilot) -> None:
        pilot.app.push_screen(CompareScreen(["a1", "b2"]))
        await until(pilot, lambda: len(plots(pilot.app)) == 3 and pilot.app.screen.query_one("#compare-table").row_count == 2)
        await pilot.pause()

    assert snap_compare(_app(tmp_path), terminal_size=size, run_before=open_compare)


def test_every_key_of_metrics_and_compare_is_in_screens_md() -> None:
    import re

    from tests.conftest import REPO

    documented = set(re.findall(r"`([a-z_]+\.[a-z_.]+)`", (REPO / "screens.md").read_text(encoding="utf-8")))
    for owner in (MetricsScreen, CompareScreen, RunDetailScreen):
        for binding in owner.BINDINGS:
            assert binding.id in documented, f"{binding.id} ({owner.__name__}) is not in screens.md"
