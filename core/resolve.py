"""Fit a spec's resources (or its preset) against a cluster's capacity, at submit time.

    resolve(spec, cluster, config, capacity) -> Resolution     # raises ResolveError with one sentence

A preset (`resources.preset`) replaces the spec's cpu / memory / gpu request. A request that cannot
fit says what it needs and what the cluster has: "needs 2× A100, cluster local has no GPU.".
Capacity None (an unreachable cluster) skips the fit: the backend reports what happens at start.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from core.backends.base import Capacity
    from core.config import ClusterConfig, Config
    from core.spec.runspec import GpuSpec, Range, RunSpec


class ResolveError(ValueError):
    """The request fits nowhere on the chosen cluster, or names an unknown preset. One sentence."""


@dataclass
class Resolution:
    """What a run gets: the preset used, the resource request, the GPUs picked (local indices)."""

    preset: str | None = None
    cpu: float | None = None
    memory_gb: float | None = None
    gpu_count: int = 0
    gpu_names: list[str] = field(default_factory=list)
    gpu_indices: list[int] | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def gpus(self) -> str:
        """Short summary for lists: "2×A100", "1×GPU" or "-"."""
        if not self.gpu_count:
            return "-"
        return f"{self.gpu_count}×{self.gpu_names[0] if self.gpu_names else 'GPU'}"

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("warnings")
        return data


def _fmt(value: float) -> str:
    return f"{value:g}"


def _memory(text: str | float | int) -> float:
    from core.spec import grammar

    try:
        return grammar.parse_memory(text)
    except ValueError:
        return grammar.parse_quantity(text)


def resolve(spec: "RunSpec", cluster: "ClusterConfig", config: "Config", capacity: "Capacity | None") -> Resolution:
    from core.config import ConfigError

    res = spec.resources
    out = Resolution()
    gpu: GpuSpec = res.gpu
    cpu_min = res.cpu.min if res.cpu else None
    memory_min = res.memory_gb.min if res.memory_gb else None
    if res.preset:
        try:
            preset = config.preset(res.preset, cluster.name)
        except ConfigError as exc:
            raise ResolveError(str(exc)) from None
        out.preset = preset.name
        cpu_min = preset.cpu if preset.cpu is not None else cpu_min
        try:
            memory_min = _memory(preset.memory) if preset.memory is not None else memory_min
            if preset.gpu is not None:
                from core.spec.grammar import parse_gpu

                gpu = parse_gpu(preset.gpu)
        except ValueError as exc:
            raise ResolveError(f"preset `{preset.name}` is invalid: {exc}; fix it in {config.path}.") from None
    out.cpu, out.memory_gb = cpu_min, memory_min
    out.gpu_count, out.gpu_names = gpu.wanted, list(gpu.names)
    if capacity is None:
        out.warnings.append(f"cluster {cluster.name} did not report its capacity: resources are not checked")
        return out
    _fit_scalar("CPUs", cpu_min, capacity.cpus, cluster.name)
    _fit_scalar("GB of memory", memory_min, capacity.memory_gb, cluster.name)
    if out.gpu_count:
        out.gpu_indices = _fit_gpus(gpu, out.gpu_count, capacity, cluster.name)
    return out


def _fit_scalar(what: str, wanted: float | None, have: float | None, cluster: str) -> None:
    if wanted is not None and have is not None and wanted > have + 1e-9:
        raise ResolveError(f"needs {_fmt(wanted)} {what}, cluster {cluster} has {_fmt(have)}.")


def _matches(gpu: "GpuSpec", offer: dict[str, Any]) -> bool:
    name = str(offer.get("name") or "").lower().replace(" ", "")
    if gpu.names and not any(n.lower().replace(" ", "") in name for n in gpu.names):
        return False
    memory = offer.get("memory_gb")
    if gpu.memory_gb is not None and memory is not None and not gpu.memory_gb.contains(memory):
        return False
    return True


def _fit_gpus(gpu: "GpuSpec", count: int, capacity: "Capacity", cluster: str) -> list[int]:
    wanted = f"{count}× {'/'.join(gpu.names) or 'GPU'}" + (f" ({_range(gpu.memory_gb)} GB)" if gpu.memory_gb else "")
    if not capacity.gpus:
        raise ResolveError(f"needs {wanted}, cluster {cluster} has no GPU.")
    fitting = [g for g in capacity.gpus if _matches(gpu, g)]
    if len(fitting) < count:
        names: dict[str, int] = {}
        for g in capacity.gpus:
            names[str(g.get("name"))] = names.get(str(g.get("name")), 0) + 1
        has = ", ".join(f"{n}× {name}" for name, n in names.items())
        raise ResolveError(f"needs {wanted}, cluster {cluster} has {has}.")
    return [int(g.get("index", i)) for i, g in enumerate(fitting[:count])]


def _range(value: "Range") -> str:
    return str(value)
