"""A meter for one GPU: the run that holds it (the GPU ledger), utilization and memory bars, a
sparkline of recent utilization, temperature, power, and the processes using it (mapped to runs
where known)."""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping

from rich.text import Text
from textual.widgets import Static

from core.metrics import GpuSample

SPARKS = "▁▂▃▄▅▆▇█"
HISTORY = 30


def bar(fraction: float | None, width: int) -> str:
    """A bar of `width` cells, filled to `fraction` (0..1); dots when unknown."""
    if fraction is None:
        return "·" * width
    filled = round(max(0.0, min(1.0, fraction)) * width)
    return "█" * filled + "░" * (width - filled)


def sparkline(values: list[float | None]) -> str:
    """One character per value (0..100) from ▁ to █; a space for an unknown value."""
    return "".join(" " if v is None else SPARKS[min(len(SPARKS) - 1, int(v / 100 * len(SPARKS)))] for v in values)


def _num(value: float | None, fmt: str) -> str:
    return "N/A" if value is None else fmt.format(value)


class GpuMeter(Static):
    """One GPU. `push(sample)` adds a sample to the history and redraws."""

    DEFAULT_CSS = """
    GpuMeter { height: auto; padding: 0 1; }
    """

    def __init__(self, *, run_names: Mapping[str, str] | None = None, id: str | None = None) -> None:
        super().__init__(id=id)
        self.history: deque[float | None] = deque(maxlen=HISTORY)
        self.sample: GpuSample | None = None
        self.holder: str | None = None
        self.run_names = run_names or {}

    def push(self, sample: GpuSample, run_names: Mapping[str, str] | None = None, holder: str | None = None) -> None:
        """Add `sample`; `holder` names the run the ledger gave this GPU ("3f2a0c11 (train-a)")."""
        self.sample = sample
        self.holder = holder
        if run_names is not None:
            self.run_names = run_names
        self.history.append(sample.utilization)
        self.update(self.render_sample())

    def render_sample(self) -> Text:
        s = self.sample
        text = Text()
        if s is None:
            return text
        mem_fraction = (
            s.memory_used_mb / s.memory_total_mb if s.memory_used_mb is not None and s.memory_total_mb else None
        )
        busy = (s.utilization or 0) >= 80
        text.append(f"{s.index} {s.name}{' (MIG)' if s.mig else ''}", style="bold")
        text.append(f"  held by run {self.holder}\n" if self.holder else "  free\n",
                    style="cyan" if self.holder else "dim")
        text.append("  util ")
        text.append(bar(None if s.utilization is None else s.utilization / 100, 10), style="red" if busy else "green")
        text.append(f" {_num(s.utilization, '{:.0f}%'):>4}  ")
        text.append(sparkline(list(self.history)).ljust(HISTORY), style="cyan")
        text.append("\n  mem  ")
        text.append(bar(mem_fraction, 10), style="magenta")
        used = _num(None if s.memory_used_mb is None else s.memory_used_mb / 1024, "{:.0f}")
        total = _num(None if s.memory_total_mb is None else s.memory_total_mb / 1024, "{:.0f}G")
        text.append(f" {used}/{total}  {_num(s.temperature_c, '{:.0f}°C')}  {_num(s.power_w, '{:.0f}W')}")
        for proc in s.processes:
            who = self.run_names.get(proc.run_id or "", proc.name or "?")
            mem = "" if proc.used_memory_mb is None else f" {proc.used_memory_mb / 1024:.1f}G"
            text.append(f"\n    {who} (pid {proc.pid}){mem}", style="dim" if proc.run_id is None else "")
        return text
