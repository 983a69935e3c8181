"""Slurm clusters (kind "slurm"): one `sbatch` job per run attempt, on this machine's Slurm client
or on a login host over SSH (`login:`). The job's files live in the run's folder, which the nodes
must share with the login side (see `script.py`): the batch script is kept there.

    status    squeue --states=all (then sacct, then `sacct -c` without slurmdbd), every second at most
    logs      each rank's file, merged into the run's log with a rank tag (`ranklog.py`)
    stop      `scancel --signal=TERM` to the job's steps, `scancel` after the grace
    reattach  by job id (the handle): the job never depended on its supervisor
    presets   partitions (sinfo): a request that fits no node of the partition is refused at submit
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.backends.base import (
    Backend,
    BackendError,
    Capacity,
    ClusterCheck,
    ExitInfo,
    PortAccess,
    ReportedMetrics,
    RunContext,
    ShellAccess,
)
from core.backends.slurm import parse, script
from core.backends.slurm.queries import STATE_EVERY_S, SchedulerDown, SlurmQueries, fit_problems
from core.backends.slurm.ranklog import RankMerger, consumed_from_log
from core.backends.slurm.shell import shell_for
from core.curves.files import REPORTED

if TYPE_CHECKING:
    from core.config import ClusterConfig
    from core.spec.runspec import RunSpec

FILE_POLL_S = 0.1
#: How long a failed job's final state is waited for, to tell a node failure from a failing command.
SETTLE_S = 10.0
#: Empty reads (0.1 s apart) of the rank files after the job ended before the log is complete.
DRAIN_READS = 3
METRICS_FILE = "metrics.jsonl"  # $VESSL_TUI_METRICS in the attempt's folder


class SlurmBackend(SlurmQueries, Backend, PortAccess, ShellAccess, ReportedMetrics):
    """Runs as Slurm jobs; capacity and presets are the partitions' per-node shapes."""

    kind = "slurm"
    writes_log_directly = False

    def __init__(self, cluster: "ClusterConfig"):
        super().__init__(cluster)
        self.shell = shell_for(cluster)
        self._lock = threading.Lock()
        self._states: dict[str, tuple[float, parse.JobState | None]] = {}
        self._seen: dict[str, str] = {}  # job id -> last state/reason written to the provisioning log
        self._watches: dict[str, Any] = {}  # attempt folder -> RunWatch of `wait` (folders on this machine)

    def _watch(self, folder: str) -> Any:
        """A watch on an attempt's folder when it is on this machine (no `login`): the batch script's
        exit file and the ranks' log lines wake a waiter at once. None on a login host."""
        if self.cluster.login:
            return None
        from core.runwatch import RunWatch

        watch = RunWatch(Path(folder))
        return watch if watch.pushed else watch.close()

    # --- Backend ---------------------------------------------------------------------------------

    def check(self) -> ClusterCheck:
        try:
            parts = self.partitions()
            part = self._partition(parts, None)
        except BackendError as exc:
            return ClusterCheck(False, str(exc))
        if not parts:
            return ClusterCheck(False, f"sinfo answers on {self.shell.where} but lists no partition.")
        seen = "; ".join(
            f"partition {p.name}{' (default)' if p.default else ''}: {len(p.nodes)} nodes ({p.free_nodes} idle), "
            f"{p.cpus} CPUs, {p.memory_mb} MB, {p.gpus} GPU per node" for p in parts)
        gpu_name = (part.gpu_types or ["gpu"])[0]
        capacity = Capacity(cpus=float(part.cpus), memory_gb=part.memory_mb / 1024,
                            gpus=[{"name": gpu_name, "memory_gb": None, "index": i} for i in range(part.gpus)])
        return ClusterCheck(True, f"sinfo answers on {self.shell.where}: {seen}", capacity,
                            details={"partitions": [p.name for p in parts], "partition": part.name})

    def request(self, spec: "RunSpec", run_name: str | None = None) -> script.Request:
        """What the job asks for per node, from the spec's resources (a preset applied)."""
        from core.config import Config, load_config
        from core.resolve import ResolveError, resolve

        preset = spec.resources.preset
        try:  # the config file is read only for a preset (the supervisor has no other need of it)
            config = load_config() if preset else Config(path=Path("."))
            partition = None
            if preset and preset not in config.preset_map:
                config = config.with_presets(self.presets())
                partition = preset
            res = resolve(spec, self.cluster, config, None)
        except ResolveError as exc:
            raise BackendError(str(exc)) from None
        names = spec.resources.gpu.names
        return script.Request(
            nodes=spec.nodes,
            gpus_per_node=res.gpu_count,
            gpu_type=names[0].lower() if len(names) == 1 and self.cluster.options.get("gpu_types") else None,
            cpus=math.ceil(res.cpu) if res.cpu else None,
            memory_mb=math.ceil(res.memory_gb * 1024) if res.memory_gb else None,
            partition=partition or self.cluster.partition,
            account=self.cluster.account,
            qos=self.cluster.qos,
            time_minutes=script.time_minutes(spec.max_duration + spec.grace_seconds if spec.max_duration else None),
            signal_seconds=math.ceil(spec.grace_seconds),
            name=run_name or spec.name or "run",
        )

    def validate(self, spec: "RunSpec") -> list[str]:
        name = self.cluster.name
        problems = []
        if not spec.commands:
            problems.append("the spec has no commands to run; add `run` (VESSL) or `commands` (dstack).")
        if spec.volumes:
            problems.append(f"volumes are not supported on Slurm cluster {name} yet; the run's folder "
                            "(shared with the nodes) is its working directory.")
        if spec.service is not None:
            problems.append(f"services are not supported on Slurm cluster {name}; run them on docker or ssh clusters.")
        if spec.interactive and spec.interactive.jupyter:
            problems.append(f"Jupyter sessions are not supported on Slurm cluster {name}; use `vessl-tui shell`.")
        if spec.resources.node_names:
            problems.append(f"`node_names` is not supported on Slurm cluster {name}; use a partition.")
        if problems:
            return problems
        try:
            request = self.request(spec)
            part = self._partition(self.partitions(), request.partition)
        except BackendError as exc:
            return [str(exc)]
        return fit_problems(request, part)

    def warnings(self, spec: "RunSpec") -> list[str]:
        notes = []
        if spec.image:
            notes.append(f"image `{spec.image}` does not apply to Slurm cluster {self.cluster.name} "
                         "(no container runtime): commands run on the nodes as they are.")
        if spec.python:
            notes.append(f"python `{spec.python}` does not apply to Slurm cluster {self.cluster.name}: "
                         "the nodes' python is used.")
        if spec.resources.gpu.names and not self.cluster.options.get("gpu_types"):
            notes.append(f"GPU model {'/'.join(spec.resources.gpu.names)} is not requested from Slurm "
                         f"(cluster {self.cluster.name} has no `options.gpu_types`): any GPU of the partition is allocated.")
        return notes

    def plan_script(self, spec: "RunSpec", run_name: str) -> str:
        """The batch script `run --dry-run` shows (folders named, not yet made)."""
        folder = "<run folder>/slurm/attempt-1"
        return script.batch_script("<run id>", 1, self.request(spec, run_name), folder, "<run folder>/work")

    def prepare(self, ctx: RunContext) -> None:
        for note in self.warnings(ctx.spec):
            ctx.provision(note)

    def _root(self, ctx: RunContext) -> str:
        return self.shell.root(ctx.run_id, ctx.run_dir)

    def start(self, ctx: RunContext) -> dict[str, Any]:
        from core.logs import size

        root = self._root(ctx)
        folder, work = f"{root}/slurm/attempt-{ctx.attempt}", f"{root}/work"
        request = self.request(ctx.spec, ctx.spec.name or ctx.run_id)
        batch = script.batch_script(ctx.run_id, ctx.attempt, request, folder, work)
        self.shell.write(f"{folder}/commands.sh", script.commands_script(ctx.spec, work, folder))
        self.shell.write(f"{folder}/rank.sh", script.rank_script(folder))
        self.shell.write(f"{folder}/job.sbatch", batch)
        self.shell.write(f"{work}/.keep", "")
        if self.cluster.login:  # a copy beside the run's logs here, for the user to read
            (ctx.run_dir / f"job-{ctx.attempt}.sbatch").write_text(batch)
        env = {v.name: v.value for v in ctx.spec.env if v.value is not None}
        env.update(VESSL_TUI_RUN_ID=ctx.run_id, VESSL_TUI_ATTEMPT=str(ctx.attempt),
                   VESSL_TUI_METRICS=f"{folder}/{METRICS_FILE}")
        ctx.provision(f"sbatch {' '.join(request.sbatch_options())} {folder}/job.sbatch (on {self.shell.where})")
        code, out, err = self.shell.run(["sbatch", "--parsable", f"{folder}/job.sbatch"], env=env, timeout=60)
        job_id = parse.parse_job_id(out) if code == 0 else None
        if job_id is None:
            detail = (err.strip() or out.strip() or f"exit {code}").splitlines()[-1]
            raise BackendError(f"sbatch refused the job on cluster {self.cluster.name}: {detail}")
        ctx.provision(f"submitted as Slurm job {job_id}")
        return {"backend": "slurm", "job_id": job_id, "dir": folder, "nodes": ctx.spec.nodes,
                "attempt": ctx.attempt, "log_base": size(ctx.log_path),
                "metrics_base": size(ctx.run_dir / REPORTED)}

    def attach(self, ctx: RunContext, handle: dict[str, Any]) -> bool:
        try:
            return self._exit_file(handle) is not None or self.job_state(handle["job_id"], 0) is not None
        except SchedulerDown as exc:  # cannot tell: the job may well run on; wait for the scheduler
            ctx.provision(f"{exc}; waiting for it")
            return True

    def _exit_file(self, handle: dict[str, Any]) -> int | None:
        text = self.shell.read_at(f"{handle['dir']}/exit", 0).strip()
        return int(text) if text.lstrip(b"-").isdigit() else None

    def _report(self, ctx: RunContext, handle: dict[str, Any], state: parse.JobState) -> None:
        """Write state changes and pending reasons to the provisioning log, once each."""
        seen = f"{state.state} {state.reason} {state.nodes}"
        before = self._seen.get(handle["job_id"], "")
        if before == seen:
            return
        self._seen[handle["job_id"]] = seen
        if state.pending:
            reason = state.reason if state.reason and state.reason != "None" else "waiting for its first scheduling pass"
            ctx.provision(f"job {handle['job_id']} {state.state.lower()}: {reason}")
            if ctx.report:
                ctx.report("pending", f"Slurm: {state.reason or 'queued'}")
            return
        ctx.provision(f"job {handle['job_id']} {state.state.lower()}" + (f" on {state.nodes}" if state.nodes else ""))
        if ctx.report and (not before or before.split(" ")[0] in ("PENDING", "REQUEUED", "CONFIGURING")):
            ctx.report("running", None)

    def _ended(self, ctx: RunContext, handle: dict[str, Any], max_age: float = STATE_EVERY_S) -> ExitInfo | None:
        """How the job ended, or None while it runs (or while the scheduler does not answer: the
        job goes on without slurmctld, and is asked about again once it is back)."""
        try:
            return self._ended_now(ctx, handle, max_age)
        except SchedulerDown as exc:
            if self._seen.get(handle["job_id"]) != "DOWN":
                self._seen[handle["job_id"]] = "DOWN"
                ctx.provision(f"{exc}; the job goes on, waiting for the scheduler")
            return None

    def _ended_now(self, ctx: RunContext, handle: dict[str, Any], max_age: float) -> ExitInfo | None:
        code = self._exit_file(handle)
        if code is not None:
            if code != 0:  # a rank taken down by a failing node is the node's fault, not the commands'
                state = self._settled(handle["job_id"])
                if state is not None and state.state in parse.INTERRUPTIONS:
                    return _final_info(state)
            return _exit_info(code)
        state = self.job_state(handle["job_id"], max_age)
        if state is None:
            return ExitInfo(None, f"Slurm no longer knows job {handle['job_id']} and it left no exit status")
        self._report(ctx, handle, state)
        if not state.final:
            return None
        code = self._exit_file(handle)  # it may have just been written
        if code is not None:
            return _exit_info(code)
        return _final_info(state)

    def _settled(self, job_id: str, within: float = SETTLE_S) -> parse.JobState | None:
        """The job's state once Slurm has recorded how it ended (its batch script may write its exit
        status a moment before the job leaves RUNNING / COMPLETING); the last seen after `within` s."""
        end = time.monotonic() + within
        while True:
            state = self.job_state(job_id, 0)
            if state is None or state.final or time.monotonic() >= end:
                return state
            time.sleep(0.2)

    def wait(self, ctx: RunContext, handle: dict[str, Any], timeout: float) -> ExitInfo | None:
        """The job's end within `timeout`: woken by the attempt folder's writes where it is on this
        machine (the scheduler's view is asked at most every STATE_EVERY_S), else looked at every
        FILE_POLL_S."""
        deadline = time.monotonic() + timeout
        folder = handle["dir"]
        if folder not in self._watches:
            self._watches[folder] = self._watch(folder)
        watch = self._watches[folder]
        while True:
            info = self._ended(ctx, handle)
            remaining = deadline - time.monotonic()
            if info is not None and watch is not None:
                self._watches.pop(folder, None)
                watch.close()
            if info is not None or remaining <= 0:
                return info
            if watch is not None:
                watch.wait(min(remaining, STATE_EVERY_S))
            else:
                time.sleep(min(FILE_POLL_S, remaining))

    def stream(self, ctx: RunContext, handle: dict[str, Any], offset: int) -> Iterator[bytes]:
        from core.logs import read

        nodes = int(handle.get("nodes") or 1)
        base = int(handle.get("log_base") or 0)
        written, _ = read(ctx.log_path, base, max(0, offset - base)) if offset > base else (b"", 0)
        merger = RankMerger(nodes, consumed_from_log(written, nodes))
        watch = self._watch(handle["dir"])  # the ranks' writes wake the reads (a folder on this machine)
        try:
            yield from self._merged(ctx, handle, merger, watch)
        finally:
            if watch is not None:
                watch.close()

    def _merged(self, ctx: RunContext, handle: dict[str, Any], merger: RankMerger, watch: Any) -> Iterator[bytes]:
        nodes = int(handle.get("nodes") or 1)
        idle, ended, quiet = 0.02, False, 0
        while True:
            got = False
            for rank in range(nodes):
                data = self.shell.read_at(f"{handle['dir']}/rank-{rank}.log", merger.read_offset(rank))
                if data:
                    got = True
                    out = merger.feed(rank, data)
                    if out:
                        yield out
            if got:
                idle, quiet = 0.02, 0
                continue
            if ended:
                quiet += 1
                if quiet < DRAIN_READS:  # a node may write a rank's last lines just after the job ended
                    time.sleep(0.1)
                    continue
                rest = merger.flush()
                if rest:
                    yield rest
                return
            ended = self._ended(ctx, handle) is not None
            if not ended and watch is not None:
                watch.wait(STATE_EVERY_S)
            elif not ended:
                time.sleep(idle)
                idle = min(idle * 1.5, 0.25 if self.cluster.login else 0.1)

    def stream_reported(self, ctx: RunContext, handle: dict[str, Any], offset: int) -> Iterator[bytes]:
        """$VESSL_TUI_METRICS: one file in the attempt's folder that every rank appends to."""
        from core.logs import follow_reads

        path = f"{handle['dir']}/{METRICS_FILE}"
        return follow_reads(lambda offset: self.shell.read_at(path, offset),
                            lambda: self._ended(ctx, handle) is not None,
                            max(0, offset - int(handle.get("metrics_base") or 0)))

    def stop(self, ctx: RunContext, handle: dict[str, Any], grace: float) -> None:
        job = handle["job_id"]
        try:
            state = self.job_state(job, 0)
        except SchedulerDown as exc:
            ctx.provision(f"cannot stop job {job} now: {exc}")
            return
        if state is None or state.final:
            return
        if state.pending:
            self.shell.run(["scancel", job], timeout=30)
            return
        self.shell.write(f"{handle['dir']}/stopping", "")  # no further command starts on any rank
        self.shell.run(["scancel", "--signal=TERM", job], timeout=30)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            if self._ended(ctx, handle, max_age=0.5) is not None:
                return
            time.sleep(0.1)
        ctx.provision(f"job {job} still running {grace:g}s after SIGTERM: scancel")
        self.shell.run(["scancel", job], timeout=30)

    def finish(self, ctx: RunContext, handle: dict[str, Any]) -> None:
        text = self.shell.read_at(f"{handle['dir']}/batch.log", 0).decode(errors="replace")
        for line in text.splitlines():
            if line.strip():
                ctx.provision(f"slurm: {line}")

    def cleanup(self, ctx: RunContext, handle: dict[str, Any] | None) -> None:
        if handle and handle.get("job_id"):
            try:
                state = self.job_state(handle["job_id"], 0)
            except SchedulerDown:
                state = parse.JobState(handle["job_id"], "UNKNOWN")  # scancel then says why it failed
            if state is not None and not state.final:
                self.shell.run(["scancel", handle["job_id"]], timeout=30)
        if self.cluster.login:
            self.shell.run(["rm", "-rf", self._root(ctx)], timeout=60)

    # --- capabilities ----------------------------------------------------------------------------

    def port_target(self, ctx: RunContext, handle: dict[str, Any], container_port: int) -> tuple[str, int]:
        return self.head_node_addr(handle), container_port

    def needs_tunnel(self) -> bool:
        return bool(self.cluster.login)

    def connection(self):  # noqa: ANN201 - core.sshconn.SshConnection
        """The login host's shared SSH connection, which tunnels to the head node go through."""
        if not self.cluster.login:
            raise BackendError(f"cluster {self.cluster.name} has no login host; its nodes are reached directly.")
        return self.shell._conn()

    def shell_argv(self, ctx: RunContext, handle: dict[str, Any]) -> list[str]:
        argv = ["srun", f"--jobid={handle['job_id']}", "--overlap", "--pty", "--nodes=1", "--ntasks=1",
                f"--chdir={self._root(ctx)}/work", "bash", "-i"]
        conf = [f"SLURM_CONF={self.cluster.slurm_conf}"] if self.cluster.slurm_conf else []
        if not self.cluster.login:
            return ["env", *conf, *argv] if conf else argv
        t = self.shell.target
        ssh = ["ssh", "-t", "-p", str(t.port), "-o", f"UserKnownHostsFile={t.known_hosts}",
               "-o", "StrictHostKeyChecking=yes"]
        for key in t.key_files:
            ssh += ["-i", key]
        return ssh + [f"{t.user}@{t.hostname}", " ".join(script.q(a) for a in ["env", *conf, *argv])]


def _exit_info(code: int) -> ExitInfo:
    if code > 128:
        return ExitInfo(code, f"killed by signal {code - 128}")
    return ExitInfo(code, None if code == 0 else f"exit code {code}")


def _final_info(state: parse.JobState) -> ExitInfo:
    """How a job ended that left no exit file (cancelled, timed out, lost its node, …)."""
    reasons = {
        "CANCELLED": "cancelled in Slurm (scancel)",
        "TIMEOUT": "Slurm's time limit reached",
        "NODE_FAIL": "a node of the job failed (NODE_FAIL)",
        "PREEMPTED": "preempted by Slurm",
        "BOOT_FAIL": "the nodes failed to boot (BOOT_FAIL)",
        "OUT_OF_MEMORY": "out of memory (OUT_OF_MEMORY)",
        "DEADLINE": "Slurm's deadline passed",
    }
    code = state.exit_code if state.exit_code is not None else (0 if state.state == "COMPLETED" else None)
    if state.signal:
        code = 128 + state.signal
    if state.state not in ("COMPLETED", "FAILED"):
        code = None  # accounting says 0:0 for a job Slurm ended itself: no exit status of ours
    return ExitInfo(code, reasons.get(state.state) or (None if code == 0 else f"Slurm job {state.state.lower()}"),
                    event="interruption" if state.state in parse.INTERRUPTIONS else "error")
