"""The backend protocol: one abstract class every executor implements, plus optional capabilities.

A run's supervisor (one detached process per run) drives a backend through the run's life:

    check problems   -> validate(spec)            (at submit, in the client: nothing runs yet)
    provisioning     -> prepare(ctx)              (pull image, stage imports; may log progress)
    running          -> start(ctx) -> handle      (handle is JSON, stored so any client can reattach)
                        stream(ctx, handle, offset) yields output bytes not yet in the log
                        wait(ctx, handle, timeout) -> ExitInfo | None
    stop             -> stop(ctx, handle, grace)  (SIGTERM, then SIGKILL after `grace` seconds)
    after the end    -> finish(ctx, handle)       (copy exports out)
    rm               -> cleanup(ctx, handle)      (remove containers, remote folders, temp files)
    supervisor died  -> attach(ctx, handle)       (is the work still alive? then stream/wait again)

Every method is blocking and may be slow (network, Docker): callers run them off any UI loop.
Failures a user can act on raise `BackendError` with one sentence saying what happened and what to
do; anything else is a bug.

Optional powers are separate capability classes (`PortAccess`, `ShellAccess`, `RunMetrics`,
`GpuMetrics`, `ReportedMetrics`); the UI and CLI check `isinstance(backend, Capability)` before offering an action.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import BackendError  # noqa: F401  (re-exported: backends raise it from here)

if TYPE_CHECKING:  # keep imports light: the CLI's cold start never pays for pydantic here
    from core.config import ClusterConfig
    from core.spec.runspec import RunSpec




@dataclass
class RunContext:
    """What a backend needs to execute one run attempt.

    `spec` carries secret values in clear: it lives only in the supervisor's memory. `run_dir` is the
    run's folder on this machine (`VESSL_TUI_HOME/runs/<id>/`), `log_path` its output log (the file
    that `stream` output is appended to), `provision` writes one line to the provisioning log.
    `stop_requested` is set when a stop was asked for, so long `prepare` steps can give up early.
    `gpu_indices` are the host GPUs the GPU ledger gave the run (None: no GPU is placed), with their
    `gpu_uuids` where the host reported them: process backends show the run only those
    (`gpu_env`), the Docker backend requests exactly those devices.
    """

    run_id: str
    spec: "RunSpec"
    cluster: "ClusterConfig"
    run_dir: Path
    log_path: Path
    provision: Callable[[str], None]
    attempt: int = 1
    artifacts_dir: Path | None = None
    stop_requested: threading.Event = field(default_factory=threading.Event)
    gpu_indices: list[int] | None = None
    gpu_uuids: list[str | None] | None = None
    #: Schedulers call this when the started work waits in their queue ("pending", their reason)
    #: or leaves it ("running", None); the supervisor shows it as the run's status and reason.
    report: Callable[[str, str | None], None] | None = None

    @property
    def gpu_ids(self) -> list[str] | None:
        """The placed GPUs as device ids: their UUIDs when every one is known, else their indices."""
        if self.gpu_indices is None:
            return None
        if self.gpu_uuids and len(self.gpu_uuids) == len(self.gpu_indices) and all(self.gpu_uuids):
            return [str(u) for u in self.gpu_uuids]
        return [str(i) for i in self.gpu_indices]


def gpu_env(ctx: RunContext) -> dict[str, str]:
    """The environment that shows a process run only its own GPUs (empty when none was placed):
    CUDA_VISIBLE_DEVICES by UUID (else index), indices counted in PCI bus order as nvidia-smi does."""
    ids = ctx.gpu_ids
    if ids is None:
        return {}
    return {"CUDA_DEVICE_ORDER": "PCI_BUS_ID", "CUDA_VISIBLE_DEVICES": ",".join(ids)}


@dataclass
class ExitInfo:
    """How the work ended. `reason` is a short word or sentence (e.g. "OOMKilled", "signal 9");
    `lost`: the work is gone without a trace of how it ended (its container was removed, say)."""

    exit_code: int | None
    reason: str | None = None
    lost: bool = False
    #: The retry event a failure counts as (`retry.on_events`): "error", or "interruption" when
    #: the machines failed the work (a scheduler's node failure or preemption), not its commands.
    event: str = "error"


@dataclass
class Capacity:
    """What a cluster offers. `gpus` lists one dict per GPU: {"name", "memory_gb", "index"}."""

    cpus: float | None = None
    memory_gb: float | None = None
    gpus: list[dict[str, Any]] = field(default_factory=list)
    disk_gb: float | None = None


@dataclass
class ClusterCheck:
    """Result of `Backend.check`: reachable or not, one sentence why, and capacity when known."""

    reachable: bool
    message: str
    capacity: Capacity | None = None
    details: dict[str, Any] = field(default_factory=dict)


class Backend(ABC):
    """An executor of RunSpecs on one cluster. Subclasses set `kind` ("local", "docker", "ssh")."""

    kind: str = ""
    #: True when the work writes its output straight into `ctx.log_path` (nothing to stream).
    writes_log_directly: bool = False

    def __init__(self, cluster: "ClusterConfig"):
        self.cluster = cluster

    @abstractmethod
    def check(self) -> ClusterCheck:
        """Is the cluster reachable, and what capacity does it have? Never raises."""

    def reach(self) -> ClusterCheck:
        """Does the cluster answer (a submit's check before anything is stored)? No capacity needed,
        so backends may answer with less work than `check`. Never raises. Default: `check`."""
        return self.check()

    def validate(self, spec: "RunSpec") -> list[str]:
        """Sentences for what this backend cannot do with `spec` (checked at submit). Default: none."""
        return []

    def warnings(self, spec: "RunSpec") -> list[str]:
        """Sentences for fields that mean nothing here (e.g. `image` on local processes), and for
        mounts served as copies (every backend: see core.data.sources)."""
        from core.data.sources import copy_notes

        return copy_notes(spec.volumes)

    @abstractmethod
    def prepare(self, ctx: RunContext) -> None:
        """Provision: pull the image, stage imports. Progress goes to `ctx.provision`."""

    @abstractmethod
    def start(self, ctx: RunContext) -> dict[str, Any]:
        """Start the work detached from the caller; return a JSON handle for attach/stop/wait."""

    @abstractmethod
    def attach(self, ctx: RunContext, handle: dict[str, Any]) -> bool:
        """True when the work behind `handle` is still alive (or ended with a readable exit)."""

    def stream(self, ctx: RunContext, handle: dict[str, Any], offset: int) -> Iterator[bytes]:
        """Yield output bytes after byte `offset` of the run's output, until the work ends.

        Backends with `writes_log_directly` yield nothing. Reattaching passes the log file's size
        as `offset` so that no byte is written twice.
        """
        return iter(())

    @abstractmethod
    def wait(self, ctx: RunContext, handle: dict[str, Any], timeout: float) -> ExitInfo | None:
        """Wait up to `timeout` seconds; the ExitInfo once the work ended, else None."""

    @abstractmethod
    def stop(self, ctx: RunContext, handle: dict[str, Any], grace: float) -> None:
        """SIGTERM (or the engine's equivalent) the whole work; SIGKILL after `grace` seconds."""

    def finish(self, ctx: RunContext, handle: dict[str, Any]) -> None:
        """After the end: copy exports out to `ctx.artifacts_dir`. Default: nothing."""

    def cleanup(self, ctx: RunContext, handle: dict[str, Any] | None) -> None:
        """Remove what the run left (containers, volumes it created, remote folders). Idempotent."""


class PortAccess(ABC):
    """The backend can tell where a run's port is reachable from this machine."""

    @abstractmethod
    def port_target(self, ctx: RunContext, handle: dict[str, Any], container_port: int) -> tuple[str, int]:
        """(host, port) to connect to for `container_port`, as seen from the cluster's side of
        a tunnel (for local and docker: reachable directly from this machine)."""

    def needs_tunnel(self) -> bool:
        """True when reaching `port_target` needs a forward over SSH (remote hosts)."""
        return False


class ShellAccess(ABC):
    """The backend can hand the user's terminal to a shell inside the run."""

    @abstractmethod
    def shell_argv(self, ctx: RunContext, handle: dict[str, Any]) -> list[str]:
        """argv of a program that gives an interactive shell in the run (run with the user's tty)."""

    def shell_command(self, ctx: RunContext, handle: dict[str, Any], env: dict[str, str]) -> tuple[list[str], dict[str, str]]:
        """(argv, the local program's environment) of a shell in the run that has `env` set inside it
        (no secret values: they may travel on a command line). By default the shell runs here and
        inherits `env`."""
        import os

        return self.shell_argv(ctx, handle), {**os.environ, **env}


class RunMetrics(ABC):
    """The backend can sample a run's CPU and memory use."""

    @abstractmethod
    def sample(self, ctx: RunContext, handle: dict[str, Any]) -> dict[str, float]:
        """{"cpu_percent": …, "memory_bytes": …, "memory_limit_bytes": … (when known)}."""


class ReportedMetrics(ABC):
    """The backend brings back the file a run writes at `$VESSL_TUI_METRICS` (in a container, on a
    remote host): the supervisor appends what `stream_reported` yields to the run's
    `reported.jsonl`. Local processes write that file in the run's folder directly."""

    @abstractmethod
    def stream_reported(self, ctx: RunContext, handle: dict[str, Any], offset: int) -> Iterator[bytes]:
        """Yield the file's bytes after byte `offset` as they are written, until the work ended and
        the file is drained. A missing file yields nothing."""


class HostKeys(ABC):
    """The backend talks to a host whose SSH host key must be known (kind ssh)."""

    @abstractmethod
    def host_key_status(self) -> tuple[str, str, str]:
        """(state, key type, SHA256 fingerprint); state is "known", "unknown" or "changed"."""

    @abstractmethod
    def trust_host_key(self) -> str:
        """Add the host's current key to known_hosts (only when "unknown"); return its fingerprint."""
