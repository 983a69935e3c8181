"""GPUs: a meter per GPU of every reachable host on one screen — utilization and memory bars with a
sparkline of recent utilization, temperature, power, and the processes (mapped to runs where the
run's process is known). "No NVIDIA GPU" and unreachable hosts are shown as states. Sampling
pauses while the screen is hidden and reschedules itself after each sample.

| Key | Id | Action |
| --- | --- | --- |
| ctrl+l | gpus.refresh | Sample now |
"""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Static

from tui.workers import ReportsWorkerErrors

from core.metrics import HostGpus
from tui.widgets.area_bar import AreaBar
from tui.widgets.key_bar import KeyBar
from tui.widgets.gpu_meter import GpuMeter

SAMPLE_SECONDS = 2.0
GPU_HOST_KINDS = ("local", "ssh")


def host_title(host: HostGpus) -> Text:
    """`gpu-box (2× A100 80G)` or `local: no NVIDIA GPU on this machine`."""
    if host.state != "ok":
        text = Text(f"{host.host}  ", style="bold")
        text.append(host.state, style="yellow" if host.state == "no-gpu" else "bold red")
        if host.message:
            text.append(f": {host.message}")
        return text
    names: dict[str, int] = {}
    for gpu in host.gpus:
        names[gpu.name] = names.get(gpu.name, 0) + 1
    return Text(f"{host.host} ({', '.join(f'{n}× {name}' for name, n in names.items())})", style="bold")


def map_processes(hosts: list[HostGpus], runs: list) -> dict[str, str]:
    """Fill `run_id` of GPU processes whose pid is a run's process (its handle's pid or pgid);
    return run id -> name of the runs seen."""
    by_pid = {}
    for run in runs:
        handle = run.handle or {}
        for key in ("pid", "pgid"):
            if isinstance(handle.get(key), int):
                by_pid[handle[key]] = run
    names = {}
    for host in hosts:
        for gpu in host.gpus:
            for proc in gpu.processes:
                run = by_pid.get(proc.pid)
                if run is not None and proc.run_id is None:
                    proc.run_id = run.id
                if proc.run_id:
                    names[proc.run_id] = next((r.name for r in runs if r.id == proc.run_id), proc.run_id[:8])
    return names


class HostPanel(Vertical):
    """One host: a title line and one GpuMeter per GPU."""

    DEFAULT_CSS = """
    HostPanel { height: auto; width: 1fr; min-width: 40; }
    HostPanel > .host-title { height: auto; padding: 0 1; }
    """

    def __init__(self, host: str) -> None:
        super().__init__(classes="host-panel")
        self.host = host
        self.meters: dict[int, GpuMeter] = {}

    def compose(self) -> ComposeResult:
        yield Static(Text(self.host, style="bold"), classes="host-title")

    def show(self, host: HostGpus, run_names: dict[str, str]) -> None:
        self.query_one(".host-title", Static).update(host_title(host))
        seen = set()
        for sample in host.gpus:
            seen.add(sample.index)
            meter = self.meters.get(sample.index)
            if meter is None:
                meter = self.meters[sample.index] = GpuMeter()
                self.mount(meter)
            meter.push(sample, run_names)
        for index in set(self.meters) - seen:
            self.meters.pop(index).remove()


class GpusScreen(ReportsWorkerErrors, Screen):
    """Every reachable host's GPUs."""

    AREA = "gpus"
    BINDINGS = [Binding("ctrl+l", "refresh", "Sample now", id="gpus.refresh", tooltip="Sample the GPUs now")]

    class Sampled(Message):
        """One round of samples of every host (latest value wins)."""

        def __init__(self, hosts: list[HostGpus], run_names: dict[str, str]) -> None:
            super().__init__()
            self.hosts = hosts
            self.run_names = run_names

    def __init__(self) -> None:
        super().__init__()
        self.panels: dict[str, HostPanel] = {}
        self.samples = 0
        self._timer = None

    def compose(self) -> ComposeResult:
        yield AreaBar("gpus", id="area-bar")
        yield VerticalScroll(id="gpu-hosts")
        yield KeyBar()

    @property
    def sampler(self) -> Callable:
        return self.app.gpu_sampler

    def on_screen_resume(self) -> None:
        self._sample()

    def on_screen_suspend(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self.workers.cancel_group(self, "gpus-sample")

    @work(thread=True, exclusive=True, group="gpus-sample", exit_on_error=False)
    def _sample(self) -> None:
        engine = self.app.engine
        clusters = [c for c in engine.clusters() if c.kind in GPU_HOST_KINDS]
        hosts = [self.sampler(cluster) for cluster in clusters]
        names = map_processes(hosts, engine.list_runs()) if any(h.gpus for h in hosts) else {}
        self.post_message(self.Sampled(hosts, names))

    @on(Sampled)
    def _sampled(self, event: Sampled) -> None:
        self.samples += 1
        container = self.query_one("#gpu-hosts", VerticalScroll)
        for host in event.hosts:
            panel = self.panels.get(host.host)
            if panel is None:
                panel = self.panels[host.host] = HostPanel(host.host)
                container.mount(panel)
                panel.call_after_refresh(panel.show, host, event.run_names)
            else:
                panel.show(host, event.run_names)
        total = sum(len(h.gpus) for h in event.hosts)
        self.query_one(AreaBar).summary = f"{len(event.hosts)} hosts · {total} GPUs"
        if self.is_current:
            self._timer = self.set_timer(SAMPLE_SECONDS, self._sample)

    def action_refresh(self) -> None:
        self._sample()
