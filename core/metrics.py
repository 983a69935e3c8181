"""GPU and host samplers. CONTRACT (the TUI and the serve autoscaler code against these names):

    GpuSample      one GPU at one instant (dataclass below)
    HostGpus       one host's GPUs: `host`, `state` ("ok" | "no-gpu" | "unreachable" | "error"),
                   `message` (a sentence for the non-ok states), `gpus: list[GpuSample]`, `at`
    local_gpus() -> HostGpus            NVML via nvidia-ml-py (imported lazily); "no-gpu" when absent.
                                        `VESSL_TUI_NVML_MODULE` names a module with pynvml's API to use
                                        instead (a stand-in with fake GPUs, for tests and demos)
    parse_nvidia_smi(gpu_csv, apps_csv="", host="") -> HostGpus   the remote path (nvidia-smi over SSH)
    host_gpus(cluster) -> HostGpus      local NVML for kind local and Docker engines on this machine
                                        (unix socket, tcp:// to a loopback address); nvidia-smi over
                                        the shared SSH connection for kind ssh and Docker engines
                                        reached over ssh:// (the engine's host is the GPUs' host)
    gpu_host_cluster(cluster) -> ClusterConfig | None   the SSH side of a cluster (None: this machine)
    host_stats() -> dict                {"cpu_percent", "memory_used_gb", "memory_total_gb", "cpus"}
    remote_gpus(cluster) -> HostGpus    the SSH sampler: one nvidia-smi command (NVIDIA_SMI_COMMAND)
    run_of_pid(pid, groups=None) -> str | None   the run a local process belongs to
    gpu_offers(host, names=None) -> list[dict]   a host's GPUs as the resolver matches them (`names`:
                                        the cluster's `gpus:` override, which replaces detection)

GPU processes name their run (`GpuProcess.run_id`) where it can be told: on this machine from the
process's environment (`VESSL_TUI_RUN_ID`, set in every local and SSH run) or its process group /
session being a run's; on an SSH host from the session id of the process and the `pid` files of the
run folders there (the wrapper's pid is the run's session id). Processes in containers stay unnamed.

Samplers never raise for a missing GPU or an unreachable host: that is a state, with a message.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from core.config import ClusterConfig


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
    compute_capability: tuple[int, int] | None = None
    processes: list[GpuProcess] = field(default_factory=list)


@dataclass
class HostGpus:
    """One host's GPUs at one instant, or why there are none to show."""

    host: str
    state: str = "ok"  # ok | no-gpu | unreachable | error
    message: str = ""
    gpus: list[GpuSample] = field(default_factory=list)
    at: float = field(default_factory=time.time)

# --- nvidia-smi over SSH -------------------------------------------------------------------------

#: Columns asked of `nvidia-smi --query-gpu`; the first seven are the classic set, `uuid` ties
#: compute apps to their GPU and `mig.mode.current` tells MIG GPUs apart. The parser also accepts
#: output with only the first seven columns.
GPU_FIELDS = (
    "index",
    "name",
    "utilization.gpu",
    "memory.used",
    "memory.total",
    "temperature.gpu",
    "power.draw",
    "uuid",
    "mig.mode.current",
)
APP_FIELDS = ("gpu_uuid", "pid", "process_name", "used_memory")
_SEPARATOR = "--- vessl-tui compute apps ---"

#: One remote command that samples GPUs and their processes; exit 127 when nvidia-smi is absent.
NVIDIA_SMI_COMMAND = (
    "command -v nvidia-smi >/dev/null 2>&1 || exit 127; "
    f"nvidia-smi --query-gpu={','.join(GPU_FIELDS)} --format=csv,noheader,nounits 2>&1 || exit $?; "
    f"echo '{_SEPARATOR}'; "
    f"nvidia-smi --query-compute-apps={','.join(APP_FIELDS)} --format=csv,noheader,nounits 2>/dev/null; "
    "exit 0"
)

_SESSIONS = "--- vessl-tui sessions ---"
_RUNS = "--- vessl-tui runs ---"


def nvidia_smi_command(runs_root: str | None = None) -> str:
    """NVIDIA_SMI_COMMAND, plus (with `runs_root`, the host's run folders' parent, `~/…` allowed) the
    session id of each GPU process and the pid file of each run folder, to name their runs."""
    if runs_root is None:
        return NVIDIA_SMI_COMMAND
    import shlex

    root = f'"$HOME"/{shlex.quote(runs_root[2:])}' if runs_root.startswith("~/") else shlex.quote(runs_root)
    apps = f"nvidia-smi --query-compute-apps={','.join(APP_FIELDS)} --format=csv,noheader,nounits 2>/dev/null"
    return (
        "command -v nvidia-smi >/dev/null 2>&1 || exit 127; "
        f"nvidia-smi --query-gpu={','.join(GPU_FIELDS)} --format=csv,noheader,nounits 2>&1 || exit $?; "
        f"apps=$({apps}); echo '{_SEPARATOR}'; echo \"$apps\"; "
        f"echo '{_SESSIONS}'; pids=$(echo \"$apps\" | cut -d, -f2 | tr -d ' ' | grep -E '^[0-9]+$' | paste -sd, -); "
        "[ -n \"$pids\" ] && ps -o pid=,sid= -p \"$pids\"; "
        f"echo '{_RUNS}'; for f in {root}/runs/*/pid; do [ -f \"$f\" ] && "
        "echo \"$(cat \"$f\") $(basename \"$(dirname \"$f\")\")\"; done; exit 0"
    )


def _pairs(text: str) -> list[tuple[int, str]]:
    """(number, word) per line of `ps -o pid=,sid=` or of the run folders' listing."""
    out = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0].isdigit():
            out.append((int(parts[0]), parts[1]))
    return out


def label_runs(host: "HostGpus", run_of: Callable[[int], "str | None"]) -> "HostGpus":
    """Fill `run_id` of every GPU process that `run_of(pid)` can name; returns `host`."""
    for gpu in host.gpus:
        for proc in gpu.processes:
            if proc.run_id is None:
                proc.run_id = run_of(proc.pid)
    return host


_NO_GPU_MARKERS = ("no devices were found", "couldn't communicate with the nvidia driver", "not found")


def _value(text: str) -> float | None:
    """A number from an nvidia-smi cell; None for N/A, [N/A], [Not Supported], empty."""
    text = text.strip().strip("[]")
    try:
        return float(text)
    except ValueError:
        return None


def _text(text: str) -> str | None:
    text = text.strip()
    return None if not text or text.strip("[]").lower() in ("n/a", "not supported") else text


def _rows(csv_text: str) -> list[list[str]]:
    return [[cell.strip() for cell in line.split(",")] for line in csv_text.splitlines() if line.strip()]


def parse_nvidia_smi(gpu_csv: str, apps_csv: str = "", host: str = "") -> HostGpus:
    """Parse `--query-gpu` (GPU_FIELDS, or just the first seven) and `--query-compute-apps`
    (APP_FIELDS) CSV output (`--format=csv,noheader,nounits`) into a HostGpus.

    Output that says there is no device or no driver gives state "no-gpu"; anything unparsable
    gives state "error" with the first line of the output as the message.
    """
    label = host or "this machine"
    lowered = gpu_csv.lower()
    if not gpu_csv.strip() or any(marker in lowered for marker in _NO_GPU_MARKERS):
        return HostGpus(host=host, state="no-gpu", message=f"no NVIDIA GPU on {label}")
    gpus: list[GpuSample] = []
    by_uuid: dict[str, GpuSample] = {}
    for cells in _rows(gpu_csv):
        if len(cells) < 7 or not cells[0].isdigit():
            first = gpu_csv.strip().splitlines()[0]
            return HostGpus(host=host, state="error", message=f"nvidia-smi on {label} said: {first}")
        extra = cells[7:] + ["", ""]
        sample = GpuSample(
            index=int(cells[0]),
            name=cells[1],
            utilization=_value(cells[2]),
            memory_used_mb=_value(cells[3]),
            memory_total_mb=_value(cells[4]),
            temperature_c=_value(cells[5]),
            power_w=_value(cells[6]),
            uuid=_text(extra[0]),
            mig=(extra[1].strip().lower() == "enabled"),
        )
        gpus.append(sample)
        if sample.uuid:
            by_uuid[sample.uuid] = sample
    for cells in _rows(apps_csv):
        if len(cells) < 4 or not cells[1].isdigit():
            continue
        owner = by_uuid.get(cells[0])
        if owner is not None:
            owner.processes.append(
                GpuProcess(pid=int(cells[1]), name=_text(cells[2]), used_memory_mb=_value(cells[3]))
            )
    return HostGpus(host=host, state="ok", gpus=gpus)


def parse_sampler_output(output: str, exit_code: int, host: str) -> HostGpus:
    """Split the output of NVIDIA_SMI_COMMAND and parse it (exit 127: nvidia-smi is absent)."""
    if exit_code == 127:
        return HostGpus(host=host, state="no-gpu", message=f"no NVIDIA GPU on {host} (nvidia-smi is not installed)")
    gpu_csv, _, rest = output.partition(_SEPARATOR)
    apps_csv, _, rest = rest.partition(_SESSIONS)
    sessions_text, _, runs_text = rest.partition(_RUNS)
    result = parse_nvidia_smi(gpu_csv, apps_csv, host=host)
    sessions = {pid: int(sid) for pid, sid in _pairs(sessions_text) if sid.isdigit()}
    runs = dict(_pairs(runs_text))  # a run's session id -> its id
    if sessions and runs:
        label_runs(result, lambda pid: runs.get(sessions.get(pid, -1)))
    if exit_code != 0 and result.state == "ok":  # pragma: no cover - nvidia-smi failing after printing rows
        result.state, result.message = "error", f"nvidia-smi on {host} exited with {exit_code}"
    return result


#: The compute capability of each GPU (`compute_cap` needs driver 510+; older ones print nothing).
COMPUTE_CAP_COMMAND = "nvidia-smi --query-gpu=index,compute_cap --format=csv,noheader 2>/dev/null; exit 0"


def apply_compute_caps(host: HostGpus, text: str) -> HostGpus:
    """Fill `compute_capability` of `host`'s GPUs from COMPUTE_CAP_COMMAND's output ("0, 8.0")."""
    caps: dict[int, tuple[int, int]] = {}
    for cells in _rows(text):
        if len(cells) == 2 and cells[0].isdigit() and cells[1].count(".") == 1:
            major, minor = cells[1].split(".")
            if major.isdigit() and minor.isdigit():
                caps[int(cells[0])] = (int(major), int(minor))
    for gpu in host.gpus:
        gpu.compute_capability = caps.get(gpu.index, gpu.compute_capability)
    return host


def gpu_offers(host: HostGpus, names: "list[str] | None" = None) -> list[dict[str, Any]]:
    """`host`'s GPUs as the resolver and the GPU ledger see them: {"index", "uuid", "name", "vendor",
    "memory_gb", "compute_capability"} each. `names` (a cluster's `gpus:` override) replaces what
    was detected: GPUs 0..n-1 of those names, NVIDIA, with memory and capability unknown."""
    if names is not None:
        return [{"index": i, "uuid": None, "name": name, "vendor": "nvidia", "memory_gb": None,
                 "compute_capability": None} for i, name in enumerate(names)]
    return [{"index": g.index, "uuid": g.uuid, "name": g.name, "vendor": "nvidia",
             "memory_gb": None if g.memory_total_mb is None else g.memory_total_mb / 1024,
             "compute_capability": list(g.compute_capability) if g.compute_capability else None}
            for g in host.gpus]


def remote_gpus(cluster: "ClusterConfig") -> HostGpus:
    """Sample an SSH host's GPUs with nvidia-smi over the host's shared SSH connection."""
    from core.sshconn import SshError, connection_for

    try:
        conn = connection_for(cluster)
        command = nvidia_smi_command(cluster.work_root or "~/.vessl-tui") if cluster.runtime == "process" else NVIDIA_SMI_COMMAND
        code, out, err = conn.run(command, timeout=20)
    except SshError as exc:
        return HostGpus(host=cluster.name, state="unreachable", message=str(exc))
    return parse_sampler_output(out + err, code, host=cluster.name)


# --- NVML on this machine ------------------------------------------------------------------------


def run_of_pid(pid: int, groups: "dict[int, str] | None" = None) -> str | None:
    """The run a process on this machine belongs to: `VESSL_TUI_RUN_ID` in its environment, else
    its process group or session found in `groups` (pgid or sid -> run id); None when neither says."""
    try:
        for item in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0"):
            if item.startswith(b"VESSL_TUI_RUN_ID="):
                return item[len(b"VESSL_TUI_RUN_ID="):].decode(errors="replace") or None
    except OSError:
        pass
    if groups:
        try:
            return groups.get(os.getpgid(pid)) or groups.get(os.getsid(pid))
        except OSError:
            return None
    return None


def local_run_groups() -> dict[int, str]:
    """Process group -> run id of the live runs whose handle names one (local processes)."""
    try:
        from core.engine import Engine

        return {int(r.handle["pgid"]): r.id for r in Engine().list_runs(include_finished=False)
                if r.handle and r.handle.get("pgid")}
    except Exception:  # noqa: BLE001 - no store, no engine: processes stay unnamed
        return {}


def _name_local_processes(host: HostGpus) -> HostGpus:
    if any(p.run_id is None for g in host.gpus for p in g.processes):
        groups: dict[int, str] | None = None

        def run_of(pid: int) -> str | None:
            nonlocal groups
            found = run_of_pid(pid)
            if found is None:
                groups = local_run_groups() if groups is None else groups
                found = run_of_pid(pid, groups) if groups else None
            return found

        label_runs(host, run_of)
    return host


def local_gpus(host: str = "local") -> HostGpus:
    """Sample this machine's GPUs through NVML (nvidia-ml-py, imported here, lazily); processes
    named by their run where possible."""
    try:
        pynvml = _nvml_module()
    except ImportError:
        return HostGpus(host=host, state="no-gpu", message="no NVIDIA GPU on this machine (nvidia-ml-py is not installed)")
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as exc:
        return HostGpus(host=host, state="no-gpu", message=f"no NVIDIA GPU on this machine ({exc})")
    try:
        count = pynvml.nvmlDeviceGetCount()
        if count == 0:
            return HostGpus(host=host, state="no-gpu", message="no NVIDIA GPU on this machine")
        return _name_local_processes(HostGpus(host=host, gpus=[_nvml_sample(pynvml, i) for i in range(count)]))
    except pynvml.NVMLError as exc:
        return HostGpus(host=host, state="error", message=f"NVML failed on this machine: {exc}")
    finally:
        try:
            pynvml.nvmlShutdown()
        except pynvml.NVMLError:
            pass


def _nvml_module() -> Any:
    """pynvml, or the module `VESSL_TUI_NVML_MODULE` names (same API: a stand-in with fake GPUs)."""
    import importlib

    return importlib.import_module(os.environ.get("VESSL_TUI_NVML_MODULE") or "pynvml")


def _nvml(call: Callable[[], Any]) -> Any:
    """One NVML query; None when the GPU does not report it (N/A, not supported)."""
    pynvml = _nvml_module()

    try:
        return call()
    except pynvml.NVMLError:
        return None


def _nvml_sample(pynvml: Any, index: int) -> GpuSample:
    handle = pynvml.nvmlDeviceGetHandleByIndex(index)
    name = pynvml.nvmlDeviceGetName(handle)
    name = name.decode() if isinstance(name, bytes) else name
    util = _nvml(lambda: pynvml.nvmlDeviceGetUtilizationRates(handle))
    # v2 counts the driver's reserved memory apart from `used`, as nvidia-smi does (v1's `used` holds it)
    mem = _nvml(lambda: pynvml.nvmlDeviceGetMemoryInfo(handle, version=pynvml.nvmlMemory_v2)) \
        if hasattr(pynvml, "nvmlMemory_v2") else None
    mem = mem if mem is not None else _nvml(lambda: pynvml.nvmlDeviceGetMemoryInfo(handle))
    temp = _nvml(lambda: pynvml.nvmlDeviceGetTemperature(handle, pynvml.NVML_TEMPERATURE_GPU))
    power = _nvml(lambda: pynvml.nvmlDeviceGetPowerUsage(handle))
    uuid = _nvml(lambda: pynvml.nvmlDeviceGetUUID(handle))
    mig = _nvml(lambda: pynvml.nvmlDeviceGetMigMode(handle))
    procs = _nvml(lambda: pynvml.nvmlDeviceGetComputeRunningProcesses(handle)) or []
    capability = _nvml(lambda: pynvml.nvmlDeviceGetCudaComputeCapability(handle))
    mib = 1024 * 1024
    return GpuSample(
        index=index,
        name=name,
        utilization=None if util is None else float(util.gpu),
        memory_used_mb=None if mem is None else mem.used / mib,
        memory_total_mb=None if mem is None else mem.total / mib,
        temperature_c=None if temp is None else float(temp),
        power_w=None if power is None else power / 1000.0,
        uuid=uuid.decode() if isinstance(uuid, bytes) else uuid,
        mig=bool(mig and mig[0] == pynvml.NVML_DEVICE_MIG_ENABLE),
        compute_capability=None if capability is None else (int(capability[0]), int(capability[1])),
        processes=[
            GpuProcess(pid=p.pid, used_memory_mb=None if p.usedGpuMemory is None else p.usedGpuMemory / mib)
            for p in procs
        ],
    )


_LOOPBACK = ("127.0.0.1", "localhost", "::1", "")


def _docker_engine_url(cluster: "ClusterConfig") -> str:
    """The engine URL of a docker cluster: its host, else its docker CLI context's, else the one the
    docker CLI reaches with no flags."""
    from core.dockercli import context_endpoint, default_engine

    if cluster.host:
        return cluster.host
    if cluster.context and cluster.context != "default":
        try:
            return context_endpoint(cluster.context).host
        except LookupError:
            return ""
    return default_engine() or ""


def gpu_host_cluster(cluster: "ClusterConfig") -> "ClusterConfig | None":
    """The SSH cluster whose host has `cluster`'s GPUs: itself for kind ssh, the engine's host for a
    Docker engine reached over `ssh://[user@]host[:port]` (its `identity_file`/`known_hosts`, else
    ~/.ssh/config, apply); None when the GPUs are this machine's (or not reachable to sample)."""
    if cluster.kind == "ssh":
        return cluster
    if cluster.kind != "docker":
        return None
    url = urlsplit(_docker_engine_url(cluster))
    if url.scheme != "ssh" or not url.hostname:
        return None
    return cluster.model_copy(update={"kind": "ssh", "host": url.hostname, "port": url.port or cluster.port,
                                      "user": url.username or cluster.user, "runtime": "process"})


def host_gpus(cluster: "ClusterConfig") -> HostGpus:
    """The GPUs of the host behind `cluster`: nvidia-smi over SSH where it is another host (kind ssh,
    Docker engines reached over ssh://), NVML for everything that runs on this machine."""
    remote = gpu_host_cluster(cluster)
    if remote is not None:
        return remote_gpus(remote)
    if cluster.kind == "docker":
        url = urlsplit(_docker_engine_url(cluster))
        if url.scheme in ("tcp", "http", "https") and (url.hostname or "") not in _LOOPBACK:
            return HostGpus(host=cluster.name, state="error",
                            message=f"GPU metrics of the Docker engine at {url.hostname} are not sampled: it is "
                                    "not on this machine; reach it over ssh:// to see its GPUs")
    return local_gpus(host=cluster.name)


# --- CPU and memory of this machine ---------------------------------------------------------------

_last_cpu: tuple[float, float] | None = None
_last_percent: float | None = None


def _cpu_times() -> tuple[float, float] | None:
    """(busy, total) jiffies from /proc/stat; None off Linux."""
    try:
        with open("/proc/stat") as f:
            fields = [float(v) for v in f.readline().split()[1:]]
    except OSError:
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0.0)
    total = sum(fields[:8])
    return total - idle, total


def _meminfo() -> dict[str, float]:
    try:
        with open("/proc/meminfo") as f:
            return {line.split(":")[0]: float(line.split()[1]) for line in f if len(line.split()) >= 2}
    except OSError:
        return {}


def host_stats() -> dict[str, float | None]:
    """CPU use since the previous call (over 0.1 s on the first; the previous figure when no clock
    tick passed since), memory in GB, CPU count."""
    global _last_cpu, _last_percent
    now = _cpu_times()
    if _last_cpu is None and now is not None:
        _last_cpu = now
        time.sleep(0.1)
        now = _cpu_times()
    if now is not None and _last_cpu is not None and now[1] > _last_cpu[1]:
        _last_percent = 100.0 * (now[0] - _last_cpu[0]) / (now[1] - _last_cpu[1])
        _last_cpu = now
    cpu = _last_percent
    mem = _meminfo()
    gib = 1024 * 1024  # /proc/meminfo counts KiB
    total = mem.get("MemTotal")
    available = mem.get("MemAvailable", mem.get("MemFree"))
    return {
        "cpu_percent": cpu,
        "memory_used_gb": None if total is None or available is None else (total - available) / gib,
        "memory_total_gb": None if total is None else total / gib,
        "cpus": float(os.cpu_count() or 1),
    }
