"""The GPU screen: the no-GPU state, and meters with bars from recorded samples."""

from __future__ import annotations

from core.metrics import GpuProcess, GpuSample, HostGpus
from tests.tui.conftest import until
from tui.app import VesslApp
from tui.screens.gpus import GpusScreen
from tui.widgets.gpu_meter import GpuMeter


async def test_no_gpu_is_a_state_not_an_error(engine) -> None:
    def no_gpu(cluster) -> HostGpus:
        return HostGpus(host=cluster.name, state="no-gpu", message="no NVIDIA GPU on this machine")

    app = VesslApp(engine=engine, gpu_sampler=no_gpu)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("4")
        await until(pilot, lambda: isinstance(app.screen, GpusScreen) and app.screen.samples > 0)
        title = str(app.screen.query_one(".host-title").render())
        assert "local" in title and "no-gpu" in title and "no NVIDIA GPU" in title
        assert not app.screen.query(GpuMeter)


RECORDED = [
    GpuSample(index=0, name="NVIDIA A100-SXM4-80GB", utilization=97, memory_used_mb=71 * 1024,
              memory_total_mb=80 * 1024, temperature_c=68, power_w=310,
              processes=[GpuProcess(pid=4121, used_memory_mb=70 * 1024, name="python")]),
    GpuSample(index=1, name="NVIDIA A100-SXM4-80GB", utilization=None, memory_used_mb=0, memory_total_mb=80 * 1024),
]


async def test_recorded_samples_render_bars_and_sampling_pauses_when_hidden(engine) -> None:
    calls = []

    def recorded(cluster) -> HostGpus:
        calls.append(cluster.name)
        return HostGpus(host="gpu-box", gpus=RECORDED)

    app = VesslApp(engine=engine, gpu_sampler=recorded)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("4")
        await until(pilot, lambda: isinstance(app.screen, GpusScreen) and len(app.screen.query(GpuMeter)) == 2)
        first, second = (str(m.render()) for m in app.screen.query(GpuMeter))
        assert "██████████" in first and "97%" in first and "71/80G" in first and "68°C" in first and "310W" in first
        assert "python (pid 4121) 70.0G" in first
        assert "N/A" in second and "··········" in second
        assert "gpu-box (2× NVIDIA A100-SXM4-80GB)" in str(app.screen.query_one(".host-title").render())
        await pilot.press("1")
        await pilot.pause(0.3)
        paused_at = len(calls)
        await pilot.pause(2.5)
        assert len(calls) == paused_at
