"""The engine: the only door the CLI and the TUI use to act on runs.

CONTRACT (other modules and the TUI code against these names; change only additively):

    engine = Engine()                      # VESSL_TUI_HOME / VESSL_TUI_CONFIG from the environment
    engine.reconcile() -> list[RunRecord]  # every client calls it at start; returns runs it changed
    engine.plan(path, cluster=None, document=0) -> Plan            # dry run: what submit would do
    engine.submit(path, cluster=None, document=0, handoff=False) -> RunRecord
                                           # validate, resolve, start supervisor (handoff: by the
                                           # supervisor server when one answers: a thin client)
    engine.submit_spec(spec, cluster=None, labels=None, extra_env=None) -> RunRecord
                                           # same, from a RunSpec in memory; `labels` (str->str) are
                                           # stored with the run (serve: service/revision/replica),
                                           # `extra_env` added to the run's env (not secret)
    engine.list_runs(labels={"k": "v"}) filters by labels; RunRecord.labels holds them
    engine.list_runs(include_finished=True, limit=None) -> list[RunRecord]   # newest first
    engine.list_runs(summary=True)         # only the fields a one-line listing shows (`ps`)
    engine.get(ref) -> RunRecord           # ref: id, unique id prefix, or name (latest run of it)
    engine.stop(ref) -> RunRecord          # asks the supervisor to stop; returns at once
    engine.stop_timeout(ref) -> float      # how long a stop may take: the run's grace plus a margin
    engine.rerun(ref) -> RunRecord         # a new run from the stored spec
    engine.remove(ref, force=False)        # delete a finished run (force: stop it first)
    engine.read_log(run_id, offset, provisioning=False, limit=1<<20, rank=None) -> (bytes, next_offset)
                                           # rank: one rank's lines of a multi-node run
    engine.scheduler_view(name) -> {"partitions", "nodes", "queue"} | None   # Slurm clusters
    engine.gres_hosts(cluster) -> [(HostGpus, allocation)]  # a Slurm cluster's GRES per node
    engine.follow_log(run_id, offset=0, provisioning=False, stop=None) -> Iterator[bytes]
                                           # yields chunks until the run is final and the log drained,
                                           # woken by the writes (no polling)
    engine.wait(ref, timeout=None) -> RunRecord   # until the run's status is final (woken by the
                                           # run's writes; reconciles every RECONCILE_SECONDS)
    engine.watch_run(run_id) -> RunWatch   # wakes on any change in the run's folder (core.runwatch)
    engine.reconcile_every(seconds) -> list[RunRecord]  # reconcile() at most that often: what
                                           # long-lived clients (TUI, follow, serve keeper) call
    engine.events(run_id) -> list[Event]   # status changes and attempts, oldest first
    engine.data_version() -> int           # changes whenever any run/event row changes (cheap poll)
    engine.clusters() -> list[ClusterConfig];  engine.presets() -> list[Preset]
    engine.check_cluster(name) -> ClusterCheck;  engine.backend(name) -> Backend
    engine.gpu_allocation(cluster) -> dict  # the GPU ledger of its host: holder per GPU index, queue
    engine.gpu_utilization(run_ids) -> float | None   # mean utilization of the GPUs those runs hold
    engine.run_context(run_id) -> RunContext      # for capabilities (ports, shell, metrics)
    engine.open_shell(ref) -> int          # the backend's shell in a running run, attached to this
                                           # process's terminal (VESSL_TUI_RUN_ID set); its exit code

The methods about clusters, GPUs and shells are written in `core.engine_clusters`, those about
metrics and the registry in `core.engine_data`, reconcile in `core.reconcile`, the records in
`core.records`; all are reached through `Engine` and this module.

Errors a user can act on raise `EngineError` (a subclass of ValueError) with one sentence;
spec problems raise `core.spec.errors.SpecError`. The engine never prints.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from core import logs
from core.diskspace import SUBMIT_NEEDS, free_bytes, no_space_sentence
from core.engine_clusters import ClusterViews
from core.engine_data import RunDataViews
from core.errors import EngineError  # noqa: F401  (re-exported: part of this module's contract)
from core.paths import SECRET_ENV_PREFIX, home_path, private_dir, run_dir
from core.records import (  # noqa: F401  (re-exported: part of this module's contract)
    ACTIVE_STATUSES,
    FINAL_STATUSES,
    STATUSES,
    Event,
    Plan,
    RunRecord,
    record_from_row,
)
from core.store import LIST_COLUMNS, SUMMARY_COLUMNS, Store, db_path

TYPE_CHECKING = False  # typing (like pydantic, and json: imported where used) stays out of `vessl-tui ps`
if TYPE_CHECKING:
    from typing import Any

    from core.backends.base import Backend, RunContext
    from core.config import ClusterConfig, Config
    from core.resolve import Resolution
    from core.runwatch import RunWatch
    from core.spec.runspec import RunSpec

#: How often long-lived clients (TUI, `run --follow`, `logs -f`, the serve keeper) reconcile.
RECONCILE_SECONDS = 3.0
#: What a stop may take beyond the run's grace (SIGTERM -> SIGKILL) before `stop` gives up waiting
#: (VESSL_TUI_STOP_MARGIN overrides).
STOP_MARGIN_SECONDS = float(os.environ.get("VESSL_TUI_STOP_MARGIN") or 15.0)
_PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent)


def _scrub(text: str, values: Any) -> str:
    """`text` with every secret value (as it would appear in JSON) replaced by the placeholder."""
    import json

    from core.spec.runspec import SECRET_PLACEHOLDER

    for value in sorted(values, key=len, reverse=True):
        if len(value) >= 4:
            text = text.replace(json.dumps(value)[1:-1], SECRET_PLACEHOLDER)
    return text


class Engine(ClusterViews, RunDataViews):
    """The façade over the store, the config, the backends and the supervisors. Cheap to construct:
    the store opens on first use, the config loads on first use, backends import on first use."""

    def __init__(self, home: Path | None = None):
        self.home = home or home_path()
        self._store: Store | None = None
        self._config: Config | None = None
        self._children: list[Any] = []  # supervisors this client started (reaped when they end)
        self._rank_logs: Any = None  # per-rank views of multi-node logs (read_log's `rank`)
        self._reconciled_at = float("-inf")

    # --- plumbing -------------------------------------------------------------------------

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store(db_path(self.home))
        return self._store

    @property
    def config(self) -> "Config":
        if self._config is None:
            from core.config import ConfigError, load_config

            try:
                self._config = load_config()
            except ConfigError as exc:
                raise EngineError(str(exc)) from None
        return self._config

    def _cluster(self, name: str | None) -> "ClusterConfig":
        from core.config import ConfigError

        try:
            return self.config.cluster(name)
        except ConfigError as exc:
            raise EngineError(str(exc)) from None

    def _row(self, ref: str, with_spec: bool = False) -> dict[str, Any]:
        found = self.store.find(ref)
        if not found:
            raise EngineError(f"no run matches `{ref}`; `vessl-tui ps --all` lists runs by id and name.")
        if len(found) > 1:
            ids = ", ".join(r["id"] for r in found[:5])
            raise EngineError(f"`{ref}` matches {len(found)} runs ({ids}); give more of the id.")
        return self.store.run(found[0]["id"], with_spec=True) if with_spec else found[0]  # type: ignore[return-value]

    def _reap(self) -> None:
        if not self._children:
            return
        self._children = [p for p in self._children if p.poll() is None]

    def supervisor_env(self) -> dict[str, str]:
        """The environment a supervisor (and so the work of a local run) gets: this client's, less
        the VESSL_TUI_SECRET_* variables, with this home and this package importable."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(SECRET_ENV_PREFIX)}
        env["VESSL_TUI_HOME"] = str(self.home)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [_PACKAGE_ROOT, env.get("PYTHONPATH")]))
        return env

    def _spawn_supervisor(self, run_id: str, payload: dict[str, Any]) -> None:
        """Start the run's supervisor detached (own session): forked by the supervisor server, else
        as a new process. Secrets go over the server's socket or the process's stdin only."""
        import subprocess

        from core.supervisor_server import start_supervisor

        self._reap()
        env = self.supervisor_env()
        folder = private_dir(run_dir(run_id, self.home))
        log_path = logs.provision_log(run_id, self.home)
        if start_supervisor(run_id, payload, env, str(folder), str(log_path)) is not None:
            return  # forked by the supervisor server, imports already done
        payload = {**payload, "start_server": True}  # for the next runs, once this one's work runs
        log_fd = logs.open_append(log_path)
        try:
            child = subprocess.Popen(
                [sys.executable, "-m", "core.supervisor", run_id],
                stdin=subprocess.PIPE,
                stdout=log_fd,
                stderr=log_fd,
                cwd=folder,
                env=env,
                start_new_session=True,
            )
        finally:
            os.close(log_fd)
        assert child.stdin is not None
        import json

        child.stdin.write(json.dumps(payload).encode())
        child.stdin.close()
        self._children.append(child)

    # --- submit ---------------------------------------------------------------------------

    def _prepare(self, spec: "RunSpec", cluster: str | None, reach: bool = False
                 ) -> tuple["ClusterConfig", "Backend", "Resolution"]:
        """The cluster, its backend and the resolved resources of `spec`; EngineError (one sentence)
        when it cannot run there. `reach`: a cluster other than `local` must answer one connection
        check now (a submit fails in seconds instead of sitting in provisioning)."""
        from core.backends import backend_for
        from core.backends.base import BackendError
        from core.interactive import hold_open, jupyter_note
        from core.resolve import ResolveError, resolve

        notes = hold_open(spec)  # an interactive run with nothing to run stays up
        if cluster is None and spec.resources.cluster:
            known = {c.name for c in self.config.clusters()}
            if spec.resources.cluster in known:
                cluster = spec.resources.cluster
            else:
                notes.append(f"the spec's cluster `{spec.resources.cluster}` is not configured here: "
                             f"using {self.config.default_cluster}")
        target = self._cluster(cluster)
        if spec.nodes > 1 and target.kind != "slurm":
            slurm = [c.name for c in self.config.clusters() if c.kind == "slurm"]
            where = (f"submit it to a Slurm cluster ({', '.join(slurm)})" if slurm
                     else f"add a cluster of kind slurm to {self.config.path}")
            raise EngineError(f"`nodes: {spec.nodes}` needs a Slurm cluster, and cluster {target.name} is "
                              f"{target.kind}: {where}.")
        try:
            backend = backend_for(target)
        except BackendError as exc:
            raise EngineError(str(exc)) from None
        problems = backend.validate(spec)
        if problems:
            raise EngineError(problems[0] if len(problems) == 1 else " ".join(problems))
        res = spec.resources
        asks = res.preset or res.cpu or res.memory_gb or res.gpu.wanted
        check = backend.check() if asks else (backend.reach() if reach and target.kind != "local" else None)
        if reach and check is not None and not check.reachable:
            raise EngineError(f"cluster {target.name} cannot be reached, so nothing was submitted: "
                              f"{check.message.rstrip('.')}.")
        capacity = check.capacity if check is not None else None
        try:
            resolution = resolve(spec, target, self._config_for(spec, backend), capacity if asks else None)
        except ResolveError as exc:
            raise EngineError(str(exc)) from None
        if not asks:
            resolution.warnings.clear()
        notes += jupyter_note(spec, target.kind)
        resolution.warnings[:0] = notes + backend.warnings(spec)
        if resolution.gpu_candidates:
            from core.gpu_ledger import ledger_host

            resolution.gpu_host = ledger_host(target)
        return target, backend, resolution

    def _secret_values(self, spec: "RunSpec") -> dict[str, str]:
        from core.config import SECRET_ENV_PREFIX
        from core.spec.runspec import SECRET_PLACEHOLDER

        values: dict[str, str] = {}
        for var in spec.env:
            if var.secret_ref:
                value = self.config.secret(var.secret_ref)
                if value is None:
                    raise EngineError(
                        f"secret `{var.secret_ref}` (for {var.name}) is not defined; add it under `secrets:` in "
                        f"{self.config.path} or set {SECRET_ENV_PREFIX}{var.secret_ref}."
                    )
                values[var.name] = value
            elif var.from_client_env and var.value is None:
                value = os.environ.get(var.name)
                if value is None:
                    raise EngineError(f"{var.name} comes from your environment but is not set; export it and submit again.")
                values[var.name] = value
            elif var.secret and var.value is not None:
                if var.value == SECRET_PLACEHOLDER:
                    raise EngineError(f"the value of secret {var.name} is not known; submit the spec file again.")
                values[var.name] = var.value
        return values

    def plan(self, path: str | os.PathLike, cluster: str | None = None, document: int = 0) -> Plan:
        from core.spec import load_spec

        return self.plan_spec(load_spec(path, document), cluster)

    def plan_spec(self, spec: "RunSpec", cluster: str | None = None) -> Plan:
        from core.spec.runspec import SECRET_PLACEHOLDER

        target, backend, resolution = self._prepare(spec, cluster)
        plan_script = getattr(backend, "plan_script", None)
        resources = {k: v for k, v in resolution.as_dict().items() if v not in (None, [], 0)}
        if resolution.gpu_candidates:
            resources["gpu_candidates"] = [int(g["index"]) for g in resolution.gpu_candidates]
            if resolution.gpu_host:
                resolution.warnings += self._gpu_wait_note(resolution, target.name)
        return Plan(
            name=self._name(spec),
            cluster=target.name,
            cluster_kind=target.kind,
            preset=resolution.preset,
            resources=resources,
            image=spec.image,
            commands=[c.command if c.command else f"(wait {c.wait:g}s)" for c in spec.commands],
            volumes=[f"{v.kind} {v.source} -> {v.path}" for v in spec.volumes],
            ports=[p.container_port for p in spec.ports],
            env={
                v.name: SECRET_PLACEHOLDER if (v.secret or v.secret_ref or v.from_client_env) else (v.value or "")
                for v in spec.env
            },
            warnings=resolution.warnings,
            batch_script=plan_script(spec, self._name(spec)) if plan_script else None,
        )

    def _gpu_wait_note(self, resolution: "Resolution", cluster: str) -> list[str]:
        """["it would wait: waiting for 1 GPU on …"] when the GPUs the plan needs are busy now."""
        from core.gpu_ledger import GpuLedger

        ledger = GpuLedger(self.store.conn)
        candidates = resolution.gpu_candidates or []
        busy = {c["index"] for c in ledger.claims(resolution.gpu_host)}
        wanted = {int(c["index"]) for c in candidates}
        queued = any(wanted & set(w["candidates"]) for w in ledger.queue(resolution.gpu_host))
        if not queued and len(wanted - busy) >= resolution.gpu_count:
            return []
        reason = ledger.waiting_reason("", resolution.gpu_host or "", resolution.gpu_count, candidates, cluster)
        return [f"it would wait: {reason}"]

    @staticmethod
    def _name(spec: "RunSpec") -> str:
        if spec.name:
            return spec.name
        return Path(spec.source_file).stem.split(".")[0] or "run" if spec.source_file else "run"

    def submit(self, path: str | os.PathLike, cluster: str | None = None, document: int = 0,
               handoff: bool = False, meanwhile: Callable[[], None] | None = None) -> RunRecord:
        """`handoff`: let this user's supervisor server validate and submit (`core.handoff`: nothing
        of the spec language or the backends is imported here); done here when no server answers.
        `meanwhile` runs while the server works (once it has the request)."""
        if handoff:
            from core.handoff import submit_via_server

            run_id = submit_via_server(self, os.fspath(path), cluster, document, meanwhile)
            if run_id is not None:
                return self.get(run_id)
        from core.spec import load_spec

        return self.submit_spec(load_spec(path, document), cluster)

    def submit_spec(
        self,
        spec: "RunSpec",
        cluster: str | None = None,
        labels: dict[str, str] | None = None,
        extra_env: dict[str, str] | None = None,
    ) -> RunRecord:
        import secrets as _secrets

        from core.spec.runspec import EnvVar

        target, _backend, resolution = self._prepare(spec, cluster, reach=True)
        secret_values = self._secret_values(spec)
        free = free_bytes(private_dir(self.home))
        if free is not None and free < SUBMIT_NEEDS:
            raise EngineError(no_space_sentence(self.home))
        stored = spec.redacted()
        for name, value in (extra_env or {}).items():
            stored.env = [v for v in stored.env if v.name != name] + [EnvVar(name=name, value=value)]
        run_id = _secrets.token_hex(4)
        while self.store.run(run_id) is not None:
            run_id = _secrets.token_hex(4)
        now = time.time()
        row = {
            "id": run_id,
            "name": self._name(spec),
            "status": "pending",
            "cluster": target.name,
            "created_at": now,
            "kind": spec.kind,
            "gpus": resolution.gpus,
            "ports": [p.container_port for p in spec.ports],
            "source_file": spec.source_file,
            "preset": resolution.preset,
            "tags": list(spec.tags),
            "labels": dict(labels or {}),
            "spec_json": _scrub(stored.model_dump_json(), secret_values.values()),
            "resources": {**resolution.as_dict(), "cluster_config": target.model_dump(mode="json")},
        }
        self.store.insert_run(row, event="submitted")
        private_dir(run_dir(run_id, self.home))  # there from the start, so a client can watch it at once
        if resolution.gpu_host and resolution.gpu_candidates:  # its place in the host's GPU queue
            from core.gpu_ledger import GpuLedger

            GpuLedger(self.store.conn).enqueue(run_id, resolution.gpu_host, resolution.gpu_count,
                                               resolution.gpu_candidates)
        provision = logs.ProvisionLog(logs.provision_log(run_id, self.home))
        for note in resolution.warnings:
            provision(f"note: {note}")
        payload: dict[str, Any] = {"mode": "start", "secrets": secret_values, "expected_pid": None}
        if spec.registry_password:  # the pull's login: redacted in the store, in clear for the run
            payload["registry_password"] = spec.registry_password
        self._spawn_supervisor(run_id, payload)
        return self.get(run_id)

    # --- runs -----------------------------------------------------------------------------

    def list_runs(
        self, include_finished: bool = True, limit: int | None = None, labels: dict[str, str] | None = None,
        summary: bool = False,
    ) -> list[RunRecord]:
        """`summary`: only what a one-line listing shows (ports, tags, labels, handle, pid, started_at,
        kind, attempt, source_file, preset left at their defaults), read without decoding JSON."""
        columns = SUMMARY_COLUMNS if summary else LIST_COLUMNS
        return [record_from_row(r) for r in self.store.list_runs(include_finished, limit, labels, columns)]

    def get(self, ref: str) -> RunRecord:
        return record_from_row(self._row(ref))

    def events(self, run_id: str) -> list[Event]:
        return [Event(**e) for e in self.store.events(run_id)]

    def run_env(self, ref: str) -> dict[str, str]:
        """The run's env as stored (a secret's value is never stored: `********`), plus `$cmd`,
        its commands on one line: what tells runs of one name apart."""
        import json

        spec = json.loads(self._row(ref, with_spec=True).get("spec_json") or "{}")
        env = {v["name"]: "********" if v.get("secret") or v.get("secret_ref") else str(v.get("value") or "")
               for v in spec.get("env") or []}
        env["$cmd"] = "; ".join(c.get("command") or "" for c in spec.get("commands") or [])
        return env

    def data_version(self) -> int:
        return self.store.data_version()

    def stop(self, ref: str) -> RunRecord:
        row = self._row(ref)
        if row["status"] in FINAL_STATUSES:
            return record_from_row(row)
        self.store.update_run(row["id"], stop_requested=1, event="stop requested", only_if_active=True)
        from core.gpu_ledger import wake
        from core.supervisor import supervisor_alive

        wake([row["id"]], self.home)  # a run waiting for GPUs stops at once
        if row["supervisor_pid"] is not None and not supervisor_alive(row["id"], row["supervisor_pid"], self.home):
            self.reconcile()
        return self.get(row["id"])

    def stop_timeout(self, ref: str) -> float:
        """Seconds a stop of `ref` may take: its grace (`stop_duration`, default 10 s) plus a margin."""
        import json

        row = self._row(ref, with_spec=True)
        grace = json.loads(row.get("spec_json") or "{}").get("stop_duration")
        return (10.0 if grace is None else float(grace)) + STOP_MARGIN_SECONDS

    def wait(self, ref: str, timeout: float | None = None) -> RunRecord:
        """The run once its status is final, or as it is after `timeout` seconds. Sleeps until the
        run's folder changes (core.runwatch: a status line, the supervisor's end) and reconciles
        every RECONCILE_SECONDS meanwhile, so a run whose supervisor died still comes to an end."""
        from core.runwatch import RunWatch

        run_id = self._row(ref)["id"]
        deadline = None if timeout is None else time.monotonic() + timeout
        with RunWatch(run_dir(run_id, self.home)) as watch:
            while True:
                self.reconcile_every()
                record = self.get(run_id)
                now = time.monotonic()
                if record.final or (deadline is not None and now >= deadline):
                    return record
                pause = RECONCILE_SECONDS - (now - self._reconciled_at)
                watch.wait(max(0.0, pause if deadline is None else min(pause, deadline - now)))

    def rerun(self, ref: str) -> RunRecord:
        """A new run from the stored spec (secrets: the source file again when they were inline)."""
        from core.spec import load_spec
        from core.spec.runspec import SECRET_PLACEHOLDER, RunSpec

        row = self._row(ref, with_spec=True)
        spec = RunSpec.model_validate_json(row["spec_json"])
        if any(v.secret and v.value == SECRET_PLACEHOLDER for v in spec.env) or spec.registry_password:
            source = spec.source_file
            if not source or not Path(source).exists():
                raise EngineError(
                    f"run {row['id']} had inline secrets, which are not kept, and its file "
                    f"{source or '(none)'} is gone; submit the file again."
                )
            spec = load_spec(source, spec.document_index)
        cluster = row["cluster"]
        return self.submit_spec(spec, cluster=cluster, labels=row["labels"] or None)

    def remove(self, ref: str, force: bool = False) -> None:
        row = self._row(ref)
        if row["status"] not in FINAL_STATUSES:
            if not force:
                raise EngineError(f"run {row['id']} is {row['status']}; stop it first, or remove it with --force.")
            self.stop(row["id"])
            row = record_from_row(self.store.run(row["id"]) or row).__dict__
            self.wait(row["id"], timeout=60)
        handle = row.get("handle")
        if handle:
            try:
                context = self.run_context(row["id"])
                from core.backends import backend_for

                backend_for(context.cluster).cleanup(context, handle)
            except Exception as exc:  # what is left behind is named in the error
                raise EngineError(f"could not clean up after run {row['id']}: {exc}") from None
        import shutil

        shutil.rmtree(run_dir(row["id"], self.home), ignore_errors=True)
        from core.gpu_ledger import release_and_wake

        release_and_wake(self.store.conn, row["id"], self.home)
        self.store.delete_run(row["id"])

    # --- logs -----------------------------------------------------------------------------

    def _log_path(self, run_id: str, provisioning: bool) -> Path:
        return (logs.provision_log if provisioning else logs.output_log)(run_id, self.home)

    def read_log(self, run_id: str, offset: int = 0, provisioning: bool = False, limit: int = 1 << 20,
                 rank: int | None = None) -> tuple[bytes, int]:
        """Bytes of the run's log from `offset`; with `rank`, of that rank's lines only (multi-node
        runs: their own byte offsets, see core.rank_logs)."""
        if rank is not None and not provisioning:
            if self._rank_logs is None:
                from core.rank_logs import RankLogs

                self._rank_logs = RankLogs()
            return self._rank_logs.read(self._log_path(run_id, False), rank, offset, limit)
        return logs.read(self._log_path(run_id, provisioning), offset, limit)

    def watch_run(self, run_id: str) -> "RunWatch":
        """A watch that wakes when the run's folder changes (new log bytes, a status change, its
        supervisor's end): see core.runwatch. The caller closes it."""
        from core.runwatch import RunWatch

        return RunWatch(run_dir(run_id, self.home))

    def follow_log(
        self, run_id: str, offset: int = 0, provisioning: bool = False, stop: Callable[[], bool] | None = None
    ) -> Iterator[bytes]:
        def done() -> bool:
            self.reconcile_every()
            row = self.store.run(run_id)
            return row is None or row["status"] in FINAL_STATUSES

        return logs.follow(self._log_path(run_id, provisioning), offset, done, stop)

    # --- reconcile ------------------------------------------------------------------------

    def reconcile_every(self, seconds: float = RECONCILE_SECONDS) -> list[RunRecord]:
        """`reconcile()`, unless this engine did it less than `seconds` ago (then nothing)."""
        now = time.monotonic()
        if now - self._reconciled_at < seconds:
            return []
        self._reconciled_at = now
        return self.reconcile()

    def reconcile(self) -> list[RunRecord]:
        """Find active runs whose supervisor died: reattach a new supervisor when the work lives,
        record the exit status the work left, or mark the run lost. Returns the runs it changed
        (`core.reconcile`)."""
        from core.reconcile import reconcile

        self._reap()
        self._reconciled_at = time.monotonic()
        return reconcile(self)

    def run_context(self, run_id: str) -> "RunContext":
        """The context of a run for capability calls (ports, shell, metrics); secrets redacted."""
        from core.backends.base import RunContext
        from core.config import ClusterConfig
        from core.paths import artifacts_dir
        from core.spec.runspec import RunSpec

        row = self._row(run_id, with_spec=True)
        cluster_json = (row.get("resources") or {}).get("cluster_config")
        cluster = ClusterConfig.model_validate(cluster_json) if cluster_json else self._cluster(row["cluster"])
        return RunContext(
            run_id=row["id"],
            spec=RunSpec.model_validate_json(row["spec_json"]),
            cluster=cluster,
            run_dir=run_dir(row["id"], self.home),
            log_path=logs.output_log(row["id"], self.home),
            provision=logs.ProvisionLog(logs.provision_log(row["id"], self.home)),
            attempt=row["attempt"],
            artifacts_dir=artifacts_dir(row["id"], self.home),
        )
