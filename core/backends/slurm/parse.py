"""Reading what Slurm's client commands print (pure functions: text in, data out).

    parse_sinfo(text) -> list[Node]          # `sinfo -h -N -O SINFO_FIELDS` (one line per node and partition)
    partitions(nodes) -> list[Partition]     # per partition: nodes, CPUs / memory / GPUs per node, free nodes
    parse_job(text) -> JobState | None       # `squeue -h -t all -j ID -o SQUEUE_FORMAT` or `sacct` (-P) lines
    parse_queue(text) -> list[QueueEntry]    # `squeue -h -o QUEUE_FORMAT`
    parse_gres_jobs(text) -> list[GresJob]   # `scontrol -d -o show job`: which GPU indices each job holds
    gres_gpus("gpu:a100:2(S:0-1),shard:4") -> 2;  exit_code("3:0") -> 3

Every field is separated by `|`; a line that does not parse is skipped, never guessed at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

SINFO_FIELDS = "Partition:|,NodeList:|,StateLong:|,CPUs:|,CPUsState:|,Memory:|,AllocMem:|,Gres:|,GresUsed:|,NodeAddr:|"
SQUEUE_FORMAT = "%i|%T|%r|%N"
SACCT_FIELDS = "JobID,State,Reason,NodeList,ExitCode"
QUEUE_FORMAT = "%i|%j|%u|%T|%M|%D|%R|%P"

#: Job states after which nothing more happens (squeue --states=all and sacct spell them alike).
FINAL_STATES = frozenset({
    "COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "PREEMPTED", "BOOT_FAIL",
    "OUT_OF_MEMORY", "DEADLINE", "SPECIAL_EXIT", "REVOKED",
})
#: Final states that mean the machines failed the job, not its commands (retry `interruption`).
INTERRUPTIONS = frozenset({"NODE_FAIL", "PREEMPTED", "BOOT_FAIL"})
_PARENS = re.compile(r"\([^)]*\)")


@dataclass
class Node:
    """One node as one partition sees it (a node in two partitions appears twice)."""

    partition: str
    name: str
    state: str
    cpus: int
    cpus_alloc: int
    memory_mb: int
    memory_alloc_mb: int
    gpus: int
    gpus_used: int
    gpu_types: list[str] = field(default_factory=list)
    addr: str = ""
    default: bool = False

    @property
    def free(self) -> bool:
        return self.state.rstrip("*~#$@+") in ("idle",)

    @property
    def usable(self) -> bool:
        """Up: idle, mixed or allocated (a job may queue for it), not down / drained / failing."""
        return self.state.rstrip("*~#$@+").split("+")[0] in ("idle", "mixed", "allocated", "completing", "planned")


@dataclass
class Partition:
    """A partition as a preset: per-node shape (the largest node), node counts."""

    name: str
    default: bool
    nodes: list[Node]

    @property
    def cpus(self) -> int:
        return max((n.cpus for n in self.nodes), default=0)

    @property
    def memory_mb(self) -> int:
        return max((n.memory_mb for n in self.nodes), default=0)

    @property
    def gpus(self) -> int:
        return max((n.gpus for n in self.nodes), default=0)

    @property
    def gpu_types(self) -> list[str]:
        return sorted({t for n in self.nodes for t in n.gpu_types})

    @property
    def usable_nodes(self) -> int:
        return sum(1 for n in self.nodes if n.usable)

    @property
    def free_nodes(self) -> int:
        return sum(1 for n in self.nodes if n.free)


@dataclass
class JobState:
    job_id: str
    state: str
    reason: str = ""
    nodes: str = ""
    exit_code: int | None = None
    signal: int | None = None

    @property
    def final(self) -> bool:
        return self.state in FINAL_STATES

    @property
    def pending(self) -> bool:
        return self.state in ("PENDING", "REQUEUED", "CONFIGURING", "SUSPENDED", "REQUEUE_HOLD", "REQUEUE_FED")


@dataclass
class QueueEntry:
    job_id: str
    name: str
    user: str
    state: str
    time: str
    nodes: int
    where: str  # node list, or (reason) while pending
    partition: str


def _int(text: str) -> int:
    match = re.match(r"\d+", text.strip())
    return int(match.group()) if match else 0


def _gpu_items(text: str) -> list[tuple[str | None, int]]:
    """(type or None, count) of each `gpu` entry of a GRES string."""
    items = []
    for item in _PARENS.sub("", text or "").split(","):
        parts = item.strip().split(":")
        if parts[0].lower() != "gpu":
            continue
        count = int(parts[-1]) if len(parts) > 1 and parts[-1].isdigit() else 1
        kind = parts[1] if len(parts) > 2 or (len(parts) == 2 and not parts[1].isdigit()) else None
        items.append((kind, count))
    return items


def gres_gpus(text: str) -> int:
    """GPUs in a GRES string: `gpu:2`, `gpu:a100:2(S:0)`, `gpu:tesla:1,gpu:a10:1` -> 2 / 2 / 2."""
    return sum(count for _, count in _gpu_items(text))


def gres_types(text: str) -> list[str]:
    return sorted({kind for kind, _ in _gpu_items(text) if kind})


def parse_sinfo(text: str) -> list[Node]:
    nodes = []
    for line in text.splitlines():
        parts = [p.strip() for p in line.split("|")]
        if len(parts) < 10 or not parts[1]:
            continue
        alloc = parts[4].split("/")
        gres = "" if parts[7] in ("(null)", "N/A") else parts[7]
        nodes.append(Node(
            partition=parts[0].rstrip("*"),
            default=parts[0].endswith("*"),
            name=parts[1],
            state=parts[2],
            cpus=_int(parts[3]),
            cpus_alloc=_int(alloc[0]) if alloc else 0,
            memory_mb=_int(parts[5]),
            memory_alloc_mb=_int(parts[6]),
            gpus=gres_gpus(gres),
            gpus_used=gres_gpus(parts[8]),
            gpu_types=gres_types(gres),
            addr=parts[9],
        ))
    return nodes


def partitions(nodes: list[Node]) -> list[Partition]:
    found: dict[str, Partition] = {}
    for node in nodes:
        part = found.setdefault(node.partition, Partition(node.partition, node.default, []))
        part.default = part.default or node.default
        part.nodes.append(node)
    return list(found.values())


def exit_code(text: str) -> tuple[int | None, int | None]:
    """sacct's ExitCode `code:signal` -> (code, signal or None)."""
    code, _, sig = (text or "").partition(":")
    if not code.strip().isdigit():
        return None, None
    return int(code), (int(sig) if sig.strip().isdigit() and int(sig) else None)


def parse_job(text: str, job_id: str) -> JobState | None:
    """The job's line from squeue (`SQUEUE_FORMAT`) or sacct (`SACCT_FIELDS`, -P); steps ignored."""
    for line in text.splitlines():
        parts = [p.strip() for p in line.split("|")]
        if len(parts) < 4 or parts[0] != job_id:
            continue
        state = parts[1].split()[0].rstrip("+") if parts[1] else ""
        if not state:
            continue
        reason = "" if parts[2] in ("None", "(null)") else parts[2]
        job = JobState(job_id, state, reason, parts[3])
        if len(parts) >= 5:
            job.exit_code, job.signal = exit_code(parts[4])
        return job
    return None


def parse_queue(text: str) -> list[QueueEntry]:
    entries = []
    for line in text.splitlines():
        parts = [p.strip() for p in line.split("|")]
        if len(parts) < 8 or not parts[0]:
            continue
        entries.append(QueueEntry(parts[0], parts[1], parts[2], parts[3], parts[4], _int(parts[5]), parts[6], parts[7]))
    return entries


def parse_job_id(text: str) -> str | None:
    """`sbatch --parsable` prints `ID` or `ID;cluster`."""
    first = (text.strip().splitlines() or [""])[-1].split(";")[0].strip()
    return first if first.isdigit() else None


@dataclass
class GresJob:
    """A running job's GPUs: (node list expression, GPU indices on each of those nodes) groups."""

    job_id: str
    name: str
    run_id: str | None
    groups: list[tuple[str, list[int]]] = field(default_factory=list)


def _indices(text: str) -> list[int]:
    """`0-1,3` -> [0, 1, 3]."""
    found: list[int] = []
    for part in text.split(","):
        low, _, high = part.partition("-")
        if low.isdigit():
            found.extend(range(int(low), int(high) + 1 if high.isdigit() else int(low) + 1))
    return found


def parse_gres_jobs(text: str) -> list[GresJob]:
    """Running jobs with GPUs from `scontrol -d -o show job` (one job per line)."""
    jobs = []
    for line in text.splitlines():
        fields = dict(kv.split("=", 1) for kv in line.split() if "=" in kv and not kv.startswith(("Nodes=", "GRES=")))
        if fields.get("JobState") != "RUNNING":
            continue
        comment = fields.get("Comment", "")
        job = GresJob(fields.get("JobId", ""), fields.get("JobName", ""),
                      comment.split("=", 1)[1] if comment.startswith("vessl-tui.run=") else None)
        nodes = None
        for kv in line.split():
            if kv.startswith("Nodes="):
                nodes = kv[len("Nodes="):]
            elif kv.startswith("GRES=") and nodes:
                match = re.search(r"gpu[^(]*\(IDX:([0-9,-]+)\)", kv)
                if match:
                    job.groups.append((nodes, _indices(match.group(1))))
        if job.groups:
            jobs.append(job)
    return jobs
