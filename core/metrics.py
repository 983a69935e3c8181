"""GPU and host samplers. CONTRACT (the TUI and the serve autoscaler code against these names):

    GpuSample      one GPU at one instant (dataclass below)
    HostGpus       one host's GPUs: `host`, `state` ("ok" | "no-gpu" | "unreachable" | "error"),
                   `message` (a sentence for the non-ok states), `gpus: list[GpuSample]`, `at`
    local_gpus() -> HostGpus            NVML via nvidia-ml-py (imported lazily); "no-gpu" when absent
    parse_nvidia_smi(gpu_csv, apps_csv="", host="") -> HostGpus   the remote path (nvidia-smi over SSH)
    host_gpus(cluster) -> HostGpus      local NVML for kind local/docker(local engine), nvidia-smi over
                                        the shared SSH connection for kind ssh
    host_stats() -> dict                {"cpu_percent", "memory_used_gb", "memory_total_gb", "cpus"}

Samplers never raise for a missing GPU or an unreachable host: that is a state, with a message.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass
class GpuProcess:
    """A process using a GPU; `run_id` is filled when it maps to a known run."""

    pid: int
    used_memory_mb: float | None = None
    name: str | None = None
    run_id: str | None = None


@dataclass
class GpuSample:
    """One GPU at one instant. None = not reported (N/A)."""

    index: int
    name: str
    utilization: float | None = None  # percent 0..100
    memory_used_mb: float | None = None
    memory_total_mb: float | None = None
    temperature_c: float | None = None
    power_w: float | None = None
    uuid: str | None = None
    mig: bool = False
    processes: list[GpuProcess] = field(default_factory=list)


@dataclass
class HostGpus:
    """One host's GPUs at one instant, or why there are none to show."""

    host: str
    state: str = "ok"  # ok | no-gpu | unreachable | error
    message: str = ""
    gpus: list[GpuSample] = field(default_factory=list)
    at: float = field(default_factory=time.time)
