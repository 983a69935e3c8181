"""The files one Slurm job attempt runs from (pure: a spec and a request in, shell text out).

    attempt folder (on the cluster's shared filesystem, beside the run's `work/` folder):
      job.sbatch    the batch script: #SBATCH lines from the request, the allocation's addresses,
                    then `srun` of rank.sh on every node (one task per node)
      rank.sh       one per node: the rank variables, then commands.sh; records rank-K.exit
      commands.sh   the spec's commands (set -e: the first failing one ends the rank)
      rank-K.log    rank K's stdout and stderr (srun --output=rank-%t.log)
      batch.log     the batch script's own output (allocation, srun's errors)
      exit          the job's exit status: the first failing rank's code, else 0

The rank variables come from the real allocation at run time (SLURM_JOB_NODELIST, scontrol's
NodeAddr), never from the request: DSTACK_NODE_RANK, DSTACK_NODES_NUM, DSTACK_MASTER_NODE_IP,
DSTACK_NODES_IPS (one per line), DSTACK_GPUS_PER_NODE, DSTACK_GPUS_NUM, and torchrun's MASTER_ADDR,
MASTER_PORT, NODE_RANK, WORLD_SIZE (one process is started per node: WORLD_SIZE = nodes).
No secret is ever written here: env values reach the job through sbatch's environment.
"""

from __future__ import annotations

import math
import re
import shlex
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.spec.runspec import RunSpec

#: How the rank tag of each log line reads (`[rank 1] text`).
RANK_TAG = "[rank {}] "


@dataclass
class Request:
    """What one job asks Slurm for: per node, like `--nodes N --ntasks-per-node 1`."""

    nodes: int = 1
    gpus_per_node: int = 0
    gpu_type: str | None = None
    cpus: int | None = None
    memory_mb: int | None = None
    partition: str | None = None
    account: str | None = None
    qos: str | None = None
    time_minutes: int | None = None
    signal_seconds: int = 10
    name: str = "run"
    extra: list[str] = field(default_factory=list)

    def sbatch_options(self) -> list[str]:
        opts = [f"--job-name={_job_name(self.name)}", f"--nodes={self.nodes}", "--ntasks-per-node=1"]
        if self.gpus_per_node:
            opts.append(f"--gres=gpu:{self.gpu_type + ':' if self.gpu_type else ''}{self.gpus_per_node}")
        if self.cpus:
            opts.append(f"--cpus-per-task={self.cpus}")
        if self.memory_mb:
            opts.append(f"--mem={self.memory_mb}M")
        if self.time_minutes:
            opts.append(f"--time={self.time_minutes}")
        opts.append(f"--signal=TERM@{max(1, self.signal_seconds)}")
        for flag, value in (("partition", self.partition), ("account", self.account), ("qos", self.qos)):
            if value:
                opts.append(f"--{flag}={value}")
        return opts + self.extra


def _job_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "-", name)[:64] or "run"


def time_minutes(seconds: float | None) -> int | None:
    """Slurm's `--time` (whole minutes, rounded up) for a `max_duration` in seconds."""
    return None if not seconds else max(1, math.ceil(seconds / 60))


def q(value: object) -> str:
    return shlex.quote(str(value))


def commands_script(spec: "RunSpec", work: str, folder: str) -> str:
    """The spec's commands, each by the run's shell in its workdir (relative to `work`); none
    starts once a stop was asked for (the signal, or the `stopping` file the stop writes first)."""
    shell = spec.shell or "bash"
    # A stop signals every process of the step: this script waits for the command it runs (whose
    # handler may take the grace period), then runs no further command.
    lines = ["trap 'stopping=1' TERM INT HUP", "set -e"]
    after = f'[ -z "${{stopping:-}}" ] && [ ! -e {q(folder)}/stopping ] || exit 143'
    for command in spec.commands:
        if command.wait:
            lines += [f"sleep {command.wait:g}", after]
        if command.command:
            workdir = command.workdir or spec.working_dir
            target = str(PurePosixPath(work) / workdir.lstrip("/")) if workdir else work
            lines.append(f"mkdir -p {q(target)} && cd {q(target)}")
            lines += [f"{q(shell)} -c {q(command.command)}", after]
    return "\n".join(lines) + "\n"


RANK_SCRIPT = """\
# one rank of the job: started by srun on each node
trap ':' TERM INT HUP
export DSTACK_NODE_RANK="$SLURM_NODEID" NODE_RANK="$SLURM_NODEID"
bash {commands}
code=$?
echo $code > {folder}/rank-$SLURM_NODEID.exit.tmp && mv {folder}/rank-$SLURM_NODEID.exit.tmp {folder}/rank-$SLURM_NODEID.exit
[ -e {folder}/stopping ] && exit 0  # stopping: srun must not kill the other ranks' SIGTERM handlers
exit $code
"""

BATCH_BODY = """\
trap ':' TERM INT HUP
A={folder}
cd {work} || exit 1
declare -A addr_of  # node name -> NodeAddr, from one scontrol RPC, read with bash builtins only
while read -ra words; do
  name=""; addr=""
  for kv in "${{words[@]}}"; do case $kv in NodeName=*) name=${{kv#NodeName=}};; NodeAddr=*) addr=${{kv#NodeAddr=}};; esac; done
  [ -n "$name" ] && addr_of[$name]=$addr
done < <(scontrol -o show node "$SLURM_JOB_NODELIST" 2>/dev/null)
ips=""
for host in $(scontrol show hostnames "$SLURM_JOB_NODELIST"); do  # in rank order
  addr=${{addr_of[$host]:-$host}}
  if [[ ! $addr =~ ^[0-9.]+$ ]]; then ip=$(getent ahostsv4 "$addr" 2>/dev/null | awk 'NR==1{{print $1}}'); addr=${{ip:-$addr}}; fi
  ips+="${{ips:+$'\\n'}}$addr"
done
export DSTACK_NODES_NUM="$SLURM_JOB_NUM_NODES" WORLD_SIZE="$SLURM_JOB_NUM_NODES"
export DSTACK_NODES_IPS="$ips" DSTACK_MASTER_NODE_IP="${{ips%%
*}}"
export MASTER_ADDR="$DSTACK_MASTER_NODE_IP" MASTER_PORT="$((20000 + SLURM_JOB_ID % 20000))"
export DSTACK_GPUS_PER_NODE={gpus} DSTACK_GPUS_NUM="$(({gpus} * SLURM_JOB_NUM_NODES))"
echo "allocation: job $SLURM_JOB_ID on $SLURM_JOB_NODELIST (${{ips//$'\\n'/ }}), {gpus} GPU per node, master $MASTER_ADDR:$MASTER_PORT"
srun --ntasks-per-node=1 --kill-on-bad-exit=1 ${{SLURM_CPUS_PER_TASK:+--cpus-per-task=$SLURM_CPUS_PER_TASK}} \\
  --output="$A/rank-%t.log" --open-mode=append bash "$A/rank.sh"
code=$?
for f in $(ls -tr "$A"/rank-*.exit 2>/dev/null); do  # the first rank that failed, not those it took down
  c=$(cat "$f"); if [ "$c" != 0 ]; then code=$c; break; fi
done
echo $code > "$A/exit.tmp" && mv "$A/exit.tmp" "$A/exit"
exit $code
"""


def batch_script(run_id: str, attempt: int, request: Request, folder: str, work: str) -> str:
    """The job's batch script (shown by `run --dry-run`, kept in the attempt folder)."""
    header = ["#!/bin/bash", f"# vessl-tui run {run_id}, attempt {attempt}"]
    options = request.sbatch_options() + [  # no requeue by Slurm: the spec's `retry` is the one policy
        "--no-requeue", f"--output={folder}/batch.log", "--open-mode=append", f"--comment=vessl-tui.run={run_id}",
    ]
    header += [f"#SBATCH {opt}" for opt in options]
    body = BATCH_BODY.format(folder=q(folder), work=q(work), gpus=int(request.gpus_per_node))
    return "\n".join(header) + "\n" + body


def rank_script(folder: str) -> str:
    return RANK_SCRIPT.format(commands=q(f"{folder}/commands.sh"), folder=q(folder))


def tag(rank: int) -> bytes:
    return RANK_TAG.format(rank).encode()
