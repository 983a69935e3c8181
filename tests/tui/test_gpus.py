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


async def test_holders_and_the_queue_show_and_stopping_a_holder_starts_the_next(engine, tmp_path, monkeypatch) -> None:
    """Two recorded A100s (the NVML stand-in) shared by real runs: each meter names its holder, the
    host's queue names the waiting run; stopping a holder hands its GPU to the waiting run."""
    from tests.engine.test_gpu_sharing import RECORDED as RECORDED_DIR, gpu_run

    monkeypatch.setenv("VESSL_TUI_NVML_MODULE", "tests.fixtures.fake_nvml")
    monkeypatch.setenv("VESSL_TUI_FAKE_NVML_CSV", str(RECORDED_DIR / "two_a100.csv"))
    holders = [engine.submit_spec(gpu_run(f"hold-{i}", tmp_path / "never")) for i in range(2)]
    waiter = engine.submit_spec(gpu_run("waiter", tmp_path / "never"))
    app = VesslApp(engine=engine)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.press("4")

        def shown() -> tuple[str, list[str]]:
            if not isinstance(app.screen, GpusScreen):
                return "", []
            queue = app.screen.query(".host-queue")
            return (str(queue.first().render()) if queue else "", [str(m.render()) for m in app.screen.query(GpuMeter)])

        def holders_shown() -> bool:
            queue, meters = shown()
            return (f"queue: {waiter.id} (waiter) 1 GPU" in queue and len(meters) == 2
                    and all(any(f"held by run {h.id} (hold-{i})" in m for m in meters) for i, h in enumerate(holders)))

        await until(pilot, holders_shown, timeout=90)
        engine.stop(holders[0].id)
        await pilot.press("ctrl+l")

        def next_started() -> bool:
            queue, meters = shown()
            return "no run waiting" in queue and any(f"held by run {waiter.id} (waiter)" in m for m in meters)

        await until(pilot, next_started, timeout=90)
        assert engine.get(waiter.id).status == "running"
