"""SVG snapshots of the screens at 80x24 and 120x40 (pytest-textual-snapshot).

The data is fixed so that the pictures never change by themselves: a stand-in engine serves fixed
runs, a fixed log and fixed cluster checks, the clock is frozen, and the GPU sampler replays
recorded samples. Update them with `pytest tests/tui/test_snapshots.py --snapshot-update`.
"""

from __future__ import annotations

import pytest

from core.backends.base import Capacity, ClusterCheck
from core.config import ClusterConfig, Preset
from core.engine import RunRecord
from tests.tui.conftest import FIXED_NOW, until
from tests.tui.test_gpus import RECORDED
from core.metrics import HostGpus
from tui.app import VesslApp
from tui.screens.editor import EditorScreen
from tui.screens.run_detail import RunDetailScreen

H = 3600.0
RUNS = [
    RunRecord(id="a1b2c3d4e5", name="train-llama", status="running", cluster="gpu-box", gpus="2×A100",
              created_at=FIXED_NOW - 0.2 * H, started_at=FIXED_NOW - 0.2 * H, ports=[6006]),
    RunRecord(id="b2c3d4e5f6", name="sd-inference", status="provisioning", cluster="docker", gpus="1×L4",
              created_at=FIXED_NOW - 1.1 * H),
    RunRecord(id="c3d4e5f6a7", name="hello", status="succeeded", cluster="local", exit_code=0,
              created_at=FIXED_NOW - 2 * H, started_at=FIXED_NOW - 2 * H, ended_at=FIXED_NOW - 2 * H + 3),
    RunRecord(id="d4e5f6a7b8", name="sweep-07", status="failed", cluster="gpu-box", gpus="1×A100", exit_code=137,
              reason="OOMKilled", created_at=FIXED_NOW - 3 * H, started_at=FIXED_NOW - 3 * H,
              ended_at=FIXED_NOW - 3 * H + 2460),
    RunRecord(id="e5f6a7b8c9", name="finetune-llama-3-8b-instruct-lora-sweep", status="stopped", cluster="local",
              exit_code=143, reason="stopped by request", tags=["lr=3e-4"], created_at=FIXED_NOW - 4 * H,
              started_at=FIXED_NOW - 4 * H, ended_at=FIXED_NOW - 4 * H + 600),
    RunRecord(id="f6a7b8c9d0", name="finetune-llama-3-8b-instruct-lora-sweep", status="succeeded", cluster="local",
              exit_code=0, tags=["lr=1e-4"], created_at=FIXED_NOW - 4.1 * H, started_at=FIXED_NOW - 4.1 * H,
              ended_at=FIXED_NOW - 4.1 * H + 900),
]
LOG = b"".join(b"step %d loss %.3f\n" % (i * 10, 2.5 - i / 100) for i in range(120))


class FixedEngine:
    """Serves fixed data through the engine's reading calls (for pictures that never change)."""

    def data_version(self) -> int:
        return 1

    def reconcile(self) -> list[RunRecord]:
        return []

    def run_env(self, ref: str) -> dict[str, str]:
        return {}

    def reload_config(self) -> None:
        pass

    def watch_run(self, run_id: str):
        """The fixed log never grows: a watch that only waits."""
        import threading

        class Idle:
            def __init__(self) -> None:
                self.closed = threading.Event()

            def wait(self, timeout: float) -> bool:
                self.closed.wait(timeout)
                return False

            def close(self) -> None:
                self.closed.set()

        return Idle()

    def list_runs(self, include_finished: bool = True, **_: object) -> list[RunRecord]:
        return list(RUNS)

    def get(self, ref: str) -> RunRecord:
        return next(r for r in RUNS if r.id == ref)

    def events(self, run_id: str) -> list:
        return []

    def read_log(self, run_id: str, offset: int, provisioning: bool = False, limit: int = 1 << 20):
        data = b"pulling image\n" if provisioning else LOG
        chunk = data[offset : offset + limit]
        return chunk, offset + len(chunk)

    def clusters(self) -> list[ClusterConfig]:
        return [ClusterConfig(name="local", kind="local", builtin=True),
                ClusterConfig(name="gpu-box", kind="ssh", host="gpu-box")]

    def presets(self) -> list[Preset]:
        return [Preset(name="gpu-l4-small", cpu=4, memory="16Gi", gpu="L4:1")]

    def gpu_allocation(self, cluster: ClusterConfig) -> dict:
        if cluster.name != "gpu-box":
            return {"host": "local", "holders": {}, "queue": []}
        return {"host": "ssh:gpu-box:22", "holders": {0: {"run_id": "a1b2c3d4e5", "name": "train-llama"}},
                "queue": [{"run_id": "e5f6a7b8c9", "name": "sweep-08", "count": 2, "since": FIXED_NOW}]}

    def check_cluster(self, name: str) -> ClusterCheck:
        if name == "local":
            return ClusterCheck(True, "ok", Capacity(cpus=2, memory_gb=8))
        return ClusterCheck(False, "gpu-box did not answer on port 22.")


def _app() -> VesslApp:
    def recorded(cluster):
        if cluster.name == "local":
            return HostGpus(host="local", state="no-gpu", message="no NVIDIA GPU on this machine", at=FIXED_NOW)
        return HostGpus(host="gpu-box", gpus=RECORDED, at=FIXED_NOW)

    return VesslApp(engine=FixedEngine(), clock=lambda: FIXED_NOW, gpu_sampler=recorded, keymap={})


SIZES = [(80, 24), (120, 40)]


async def _runs_loaded(pilot) -> None:
    await until(pilot, lambda: pilot.app.screen.query_one("#runs-table").row_count == len(RUNS))


@pytest.mark.parametrize("size", [*SIZES, (60, 20)])
def test_runs(snap_compare, size) -> None:
    assert snap_compare(_app(), terminal_size=size, run_before=_runs_loaded)


@pytest.mark.parametrize("size", SIZES)
def test_run_detail_with_search(snap_compare, size) -> None:
    async def open_detail(pilot) -> None:
        app = pilot.app
        app.push_screen(RunDetailScreen("c3d4e5f6a7"))
        await until(pilot, lambda: isinstance(app.screen, RunDetailScreen) and app.screen.run is not None)
        log = app.screen.query_one("#log")
        await until(pilot, lambda: log.ended)
        await pilot.press("slash", *"loss 2.3", "enter")
        await until(pilot, lambda: log.match_position[1] > 0)
        await pilot.pause()

    assert snap_compare(_app(), terminal_size=size, run_before=open_detail)


BROKEN = "name: broken\nresources:\n  cluster: local\nrun:\n  - command: echo hi\nports:\n  - 70000\n"


@pytest.mark.parametrize("size", SIZES)
def test_editor_with_a_problem(snap_compare, size) -> None:
    async def open_editor(pilot) -> None:
        app = pilot.app
        screen = EditorScreen(text=BROKEN)
        app.push_screen(screen)
        await until(pilot, lambda: screen.is_mounted and screen.kind is not None)
        area = screen.query_one("#editor-text")
        area.cursor_blink = False
        area.move_cursor((6, 4))
        await pilot.pause()

    assert snap_compare(_app(), terminal_size=size, run_before=open_editor)


@pytest.mark.parametrize("size", SIZES)
def test_gpus_recorded(snap_compare, size) -> None:
    async def open_gpus(pilot) -> None:
        await pilot.press("4")
        await until(pilot, lambda: len(pilot.app.screen.query("GpuMeter")) == 2)
        await pilot.pause()

    assert snap_compare(_app(), terminal_size=size, run_before=open_gpus)


@pytest.mark.parametrize("size", SIZES)
def test_clusters(snap_compare, size) -> None:
    async def open_clusters(pilot) -> None:
        await pilot.press("3")
        table = lambda: pilot.app.screen.query_one("#clusters-table")  # noqa: E731
        await until(pilot, lambda: table().row_count == 2 and "checking" not in str(table().get_row_at(1)))
        table().move_cursor(row=1)  # the line under the table says the unreachable one's sentence whole
        await pilot.pause()

    assert snap_compare(_app(), terminal_size=size, run_before=open_clusters)
