"""GPUs: a meter per GPU of every reachable host on one screen — the run that holds it (the GPU
ledger), utilization and memory bars with a sparkline of recent utilization, temperature, power,
and the processes (mapped to runs where the run's process is known) — and under each host the
runs waiting for its GPUs, first come first. "No NVIDIA GPU" and unreachable hosts are shown as
states. Slurm clusters show each node (`hpc/n1`) with its GRES GPUs and the run (or job) Slurm
allocated each one to; Slurm allocates, it does not sample, so those meters have no utilization. Sampling pauses while the screen is hidden and reschedules itself after each sample.

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


def holder_names(ledger: dict) -> dict[int, str]:
    """GPU index -> `3f2a0c11 (train-a)` for the GPUs a run holds, from `engine.gpu_allocation`."""
    return {index: f"{h['run_id']} ({h['name']})" if h.get("name") else h["run_id"]
            for index, h in ledger.get("holders", {}).items()}


def queue_text(ledger: dict) -> Text:
    """`queue: 9c1d7e00 (eval) 2 GPUs · …`, or `no run waiting` (dim)."""
    queue = ledger.get("queue") or []
    if not queue:
        return Text("no run waiting", style="dim")
    text = Text("queue: ", style="bold yellow")
    text.append(" · ".join(f"{w['run_id']} ({w['name']}) {w['count']} GPU{'s' if w['count'] != 1 else ''}"
                           for w in queue))
    return text


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
    HostPanel > .host-queue { height: auto; padding: 0 1 1 1; }
    """

    def __init__(self, host: str) -> None:
        super().__init__(classes="host-panel")
        self.host = host
        self.meters: dict[int, GpuMeter] = {}

    def compose(self) -> ComposeResult:
        yield Static(Text(self.host, style="bold"), classes="host-title")
        yield Static("", classes="host-queue")

    def show(self, host: HostGpus, run_names: dict[str, str], ledger: dict | None = None) -> None:
        self.query_one(".host-title", Static).update(host_title(host))
        queue = self.query_one(".host-queue", Static)
        queue.update(queue_text(ledger or {}))
        queue.display = bool(host.gpus)
        holders = holder_names(ledger or {})
        seen = set()
        for sample in host.gpus:
            seen.add(sample.index)
            meter = self.meters.get(sample.index)
            if meter is None:
                meter = self.meters[sample.index] = GpuMeter()
                self.mount(meter, before=queue)
            meter.push(sample, run_names, holders.get(sample.index))
        for index in set(self.meters) - seen:
            self.meters.pop(index).remove()


class GpusScreen(ReportsWorkerErrors, Screen):
    """Every reachable host's GPUs."""

    AREA = "gpus"
    BINDINGS = [Binding("ctrl+l", "refresh", "Sample now", id="gpus.refresh", tooltip="Sample the GPUs now")]

    class Sampled(Message):
        """One round of samples of every host (latest value wins)."""

        def __init__(self, hosts: list[HostGpus], run_names: dict[str, str], ledgers: list[dict]) -> None:
            super().__init__()
            self.hosts = hosts
            self.run_names = run_names
            self.ledgers = ledgers

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
        ledgers = [engine.gpu_allocation(cluster) for cluster in clusters]
        for cluster in engine.clusters():  # Slurm: each node's GRES and the runs holding them
            if cluster.kind == "slurm":
                for host, allocation in engine.gres_hosts(cluster):
                    hosts.append(host)
                    ledgers.append(allocation)
        names = map_processes(hosts, engine.list_runs()) if any(h.gpus for h in hosts) else {}
        self.post_message(self.Sampled(hosts, names, ledgers))

    @on(Sampled)
    def _sampled(self, event: Sampled) -> None:
        self.samples += 1
        container = self.query_one("#gpu-hosts", VerticalScroll)
        for host, ledger in zip(event.hosts, event.ledgers):
            panel = self.panels.get(host.host)
            if panel is None:
                panel = self.panels[host.host] = HostPanel(host.host)
                container.mount(panel)
                panel.call_after_refresh(panel.show, host, event.run_names, ledger)
            else:
                panel.show(host, event.run_names, ledger)
        total = sum(len(h.gpus) for h in event.hosts)
        waiting = sum(len(ledger["queue"]) for ledger in event.ledgers)
        self.query_one(AreaBar).summary = (f"{len(event.hosts)} hosts · {total} GPUs"
                                           + (f" · {waiting} waiting" if waiting else ""))
        if self.is_current:
            self._timer = self.set_timer(SAMPLE_SECONDS, self._sample)

    def action_refresh(self) -> None:
        self._sample()
