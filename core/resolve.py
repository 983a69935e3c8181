"""Fit a spec's resources (or its preset) against a cluster's capacity, at submit time.

    resolve(spec, cluster, config, capacity) -> Resolution     # raises ResolveError with one sentence

A preset (`resources.preset`) replaces the spec's cpu / memory / gpu request. GPUs match on every
field of the request: names, vendor, memory per GPU, total memory, count, compute capability. A
request that can never fit says what it needs and what the cluster has: "needs 2× A100, cluster
local has no GPU.". One that fits but finds the GPUs busy waits at start (core.gpu_ledger).
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
    """What a run gets: the preset used, the resource request, and the host's GPUs that fit the
    request (`gpu_candidates`, offers as `core.metrics.gpu_offers` makes them): the GPU ledger
    picks `gpu_count` free ones among them when the run starts, on the ledger's `gpu_host`."""

    preset: str | None = None
    cpu: float | None = None
    memory_gb: float | None = None
    gpu_count: int = 0
    gpu_names: list[str] = field(default_factory=list)
    gpu_candidates: list[dict[str, Any]] | None = None
    gpu_host: str | None = None
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


def memory_gb(text: str | float | int) -> float:
    """GB of a memory size in dstack (`16GB`) or Kubernetes (`4Gi`) style; ValueError otherwise."""
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
            memory_min = memory_gb(preset.memory) if preset.memory is not None else memory_min
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
        out.gpu_candidates = _fit_gpus(gpu, out.gpu_count, capacity, cluster.name)
        out.warnings += _unchecked(gpu, out.gpu_candidates, cluster.name)
    return out


def _fit_scalar(what: str, wanted: float | None, have: float | None, cluster: str) -> None:
    if wanted is not None and have is not None and wanted > have + 1e-9:
        raise ResolveError(f"needs {_fmt(wanted)} {what}, cluster {cluster} has {_fmt(have)}.")


def _matches(gpu: "GpuSpec", offer: dict[str, Any], count: int) -> bool:
    """Whether one GPU of the host can be one of `count` GPUs the spec asks for: name, vendor, memory
    per GPU, total memory (`count` GPUs like it), minimum compute capability. A property the host
    does not report is not held against it (the resolver warns that it was not checked)."""
    name = str(offer.get("name") or "").lower().replace(" ", "")
    if gpu.names and not any(n.lower().replace(" ", "") in name for n in gpu.names):
        return False
    vendor = offer.get("vendor")
    if gpu.vendor and vendor and gpu.vendor.lower() != str(vendor).lower():
        return False
    memory = offer.get("memory_gb")
    if memory is not None:
        if gpu.memory_gb is not None and not gpu.memory_gb.contains(memory):
            return False
        if gpu.total_memory_gb is not None and not gpu.total_memory_gb.contains(memory * count):
            return False
    capability = offer.get("compute_capability")
    if gpu.compute_capability and capability and tuple(capability) < tuple(gpu.compute_capability):
        return False
    return True


def _wanted(gpu: "GpuSpec", count: int) -> str:
    """`2× A100 (nvidia, 40..80 GB, 160.. GB in all, compute capability 8.0+)`."""
    details = [gpu.vendor] if gpu.vendor else []
    if gpu.memory_gb:
        details.append(f"{_range(gpu.memory_gb)} GB")
    if gpu.total_memory_gb:
        details.append(f"{_range(gpu.total_memory_gb)} GB in all")
    if gpu.compute_capability:
        details.append(f"compute capability {'.'.join(map(str, gpu.compute_capability))}+")
    return f"{count}× {'/'.join(gpu.names) or 'GPU'}" + (f" ({', '.join(details)})" if details else "")


def _unchecked(gpu: "GpuSpec", offers: list[dict[str, Any]], cluster: str) -> list[str]:
    """Warnings for asked properties the host does not report."""
    asked = [("memory_gb", "GPU memory", gpu.memory_gb or gpu.total_memory_gb),
             ("compute_capability", "compute capability", gpu.compute_capability)]
    notes = [f"cluster {cluster} does not report the {what} of its GPUs: the spec's {what} is not checked"
             for key, what, wanted in asked if wanted and any(o.get(key) is None for o in offers)]
    if gpu.mig:
        notes.append(f"MIG profile `{gpu.mig}` is not allocated as a slice here: the run gets whole GPUs")
    return notes


def _fit_gpus(gpu: "GpuSpec", count: int, capacity: "Capacity", cluster: str) -> list[dict[str, Any]]:
    """The host's GPUs that can serve the request (at least `count` of them), else ResolveError."""
    wanted = _wanted(gpu, count)
    if not capacity.gpus:
        raise ResolveError(f"needs {wanted}, cluster {cluster} has no GPU.")
    fitting = [g for g in capacity.gpus if _matches(gpu, g, count)]
    if len(fitting) < count:
        names: dict[str, int] = {}
        for g in capacity.gpus:
            names[str(g.get("name"))] = names.get(str(g.get("name")), 0) + 1
        has = ", ".join(f"{n}× {name}" for name, n in names.items())
        raise ResolveError(f"needs {wanted}, cluster {cluster} has {has}.")
    return [{**g, "index": int(g.get("index", i))} for i, g in enumerate(fitting)]


def _range(value: "Range") -> str:
    return str(value)
