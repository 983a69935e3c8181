"""What a Slurm cluster says about itself, through its client commands (`shell.py`): nodes and
partitions (sinfo), the queue and a job's state (squeue, then sacct / `sacct -c`), which GPUs each
running job holds (scontrol -d), and whether a request fits a partition's nodes.

`SlurmQueries` is a mixin of the backend: it needs `self.cluster`, `self.shell`, and the job-state
cache `self._lock` / `self._states`. A scheduler that does not answer raises `SchedulerDown` (a
job's state is then unknown, not gone); other failures raise BackendError with one sentence.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from core.backends.base import BackendError
from core.backends.slurm import parse, script

if TYPE_CHECKING:
    from core.config import Preset

#: Least time between two scheduler queries about one job (squeue is a slurmctld RPC).
STATE_EVERY_S = 1.0


class SchedulerDown(BackendError):
    """squeue did not answer (slurmctld down or unreachable): the job's state is unknown, not gone."""


class SlurmQueries:
    """Scheduler queries of a Slurm backend (see the module docstring)."""

    def _slurm(self, *argv: str, env: dict[str, str] | None = None, timeout: float = 60.0) -> str:
        code, out, err = self.shell.run(list(argv), env=env, timeout=timeout)
        if code != 0:
            detail = (err.strip() or out.strip() or f"exit {code}").splitlines()[-1]
            raise BackendError(f"`{argv[0]}` failed on {self.shell.where}: {detail}")
        return out

    def nodes(self) -> list[parse.Node]:
        return parse.parse_sinfo(self._slurm("sinfo", "-h", "-N", "-O", parse.SINFO_FIELDS, timeout=30))

    def partitions(self) -> list[parse.Partition]:
        return parse.partitions(self.nodes())

    def overview(self) -> dict[str, list]:
        """Partitions, nodes (each once) and the queue, for the cluster browser."""
        nodes = self.nodes()
        unique = list({n.name: n for n in nodes}.values())
        return {"partitions": parse.partitions(nodes), "nodes": unique, "queue": self.queue()}

    def presets(self) -> list["Preset"]:
        """Each partition as a preset of one whole node (`resources.preset: NAME` runs there)."""
        from core.config import Preset

        return [Preset(name=p.name, cpu=p.cpus, memory=f"{p.memory_mb}Mi", gpu=p.gpus or None,
                       cluster=self.cluster.name,
                       description=f"Slurm partition: {len(p.nodes)} nodes ({p.free_nodes} idle), a whole node each")
                for p in self.partitions()]

    def gres_allocation(self) -> list[dict[str, Any]]:
        """Per node: {"node", "state", "gpus" (GRES count), "holders": {index: {"run_id", "name"}}}
        from the running jobs' GRES indices (a job not started by us is named by its job id)."""
        nodes = list({n.name: n for n in self.nodes()}.values())
        jobs = parse.parse_gres_jobs(self._slurm("scontrol", "-d", "-o", "show", "job", timeout=30))
        held: dict[str, dict[int, dict[str, str]]] = {}
        for job in jobs:
            for expr, indices in job.groups:
                for host in self._slurm("scontrol", "show", "hostnames", expr).split():
                    for index in indices:
                        held.setdefault(host, {})[index] = {"run_id": job.run_id or f"job {job.job_id}",
                                                            "name": job.name}
        return [{"node": n.name, "state": n.state, "gpus": n.gpus, "holders": held.get(n.name, {})}
                for n in nodes]

    def queue(self) -> list[parse.QueueEntry]:
        return parse.parse_queue(self._slurm("squeue", "-h", "-o", parse.QUEUE_FORMAT, timeout=30))

    def _partition(self, parts: list[parse.Partition], name: str | None) -> parse.Partition:
        name = name or self.cluster.partition
        for part in parts:
            if (name and part.name == name) or (not name and part.default):
                return part
        if not name and parts:
            return parts[0]
        known = ", ".join(p.name for p in parts) or "none"
        raise BackendError(f"partition `{name}` does not exist on cluster {self.cluster.name}; partitions: {known}.")

    def job_state(self, job_id: str, max_age: float = STATE_EVERY_S) -> parse.JobState | None:
        """The job's state (cached for `max_age` s); None when neither squeue nor sacct knows it."""
        with self._lock:
            cached = self._states.get(job_id)
            if cached is not None and time.monotonic() - cached[0] < max_age:
                return cached[1]
        try:
            code, out, err = self.shell.run(["squeue", "-h", "-t", "all", "-j", job_id, "-o", parse.SQUEUE_FORMAT],
                                            timeout=30)
        except BackendError as exc:
            raise SchedulerDown(str(exc)) from None
        if code != 0 and "invalid job id" not in err.lower():
            detail = (err.strip() or f"exit {code}").splitlines()[-1]
            raise SchedulerDown(f"squeue does not answer on {self.shell.where} ({detail})")
        state = parse.parse_job(out, job_id) if code == 0 else None
        if state is None or (state.final and state.exit_code is None):
            state = self._accounted(job_id) or state
        with self._lock:
            self._states[job_id] = (time.monotonic(), state)
        return state

    def _accounted(self, job_id: str) -> parse.JobState | None:
        """From accounting: sacct (slurmdbd), else the job-completion file (`sacct -c`)."""
        for extra in ([], ["-c"]):
            code, out, _ = self.shell.run(["sacct", *extra, "-n", "-P", "-X", "-j", job_id,
                                           "-o", parse.SACCT_FIELDS], timeout=30)
            found = parse.parse_job(out, job_id) if code == 0 else None
            if found is not None:
                return found
        return None

    def head_node_addr(self, handle: dict[str, Any]) -> str:
        state = self.job_state(handle["job_id"], 0)
        if state is None or state.pending or not state.nodes:
            raise BackendError(f"job {handle['job_id']} has no nodes yet; try again when it runs.")
        first = self._slurm("scontrol", "show", "hostnames", state.nodes).split()[0]
        for node in self.nodes():
            if node.name == first:
                return node.addr or first
        return first


def fit_problems(request: script.Request, part: parse.Partition) -> list[str]:
    """Sentences for what no node of `part` can give (checked at submit: nothing is queued)."""
    where = f"partition {part.name}"
    if request.nodes > len(part.nodes):
        return [f"needs {request.nodes} nodes; {where} has {len(part.nodes)}."]
    if request.gpus_per_node > part.gpus:
        return [f"needs {request.gpus_per_node}× GPU per node; {where} has {part.gpus or 'no GPU'}"
                f"{' per node' if part.gpus else ''}."]
    if request.cpus and request.cpus > part.cpus:
        return [f"needs {request.cpus} CPUs per node; {where} has {part.cpus} per node."]
    if request.memory_mb and request.memory_mb > part.memory_mb:
        return [f"needs {request.memory_mb} MB of memory per node; {where} has {part.memory_mb} MB per node."]
    if request.nodes > part.usable_nodes:
        return [f"needs {request.nodes} nodes up; {where} has {part.usable_nodes} of {len(part.nodes)} up."]
    return []
