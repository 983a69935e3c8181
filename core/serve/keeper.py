"""The keeper: one detached process per service that serves its endpoint and keeps its replicas.

`python -m core.serve.keeper SERVICE`, started by `spawn_keeper` in its own session, so it outlives
the CLI or TUI that asked for it. It holds a lock file (a second keeper of the same service exits at
once), writes its endpoint URL, pid and a heartbeat to the store, and every tick:

- starts the replicas each active revision wants, as supervised runs through the engine (labels
  `vessl-tui.service`, `vessl-tui.revision`, `vessl-tui.replica`; `$PORT` a free port,
  `$VESSL_TUI_REPLICA` the index);
- finds where each replica is reachable from here through its backend's `PortAccess`: the port
  itself for local processes and host networking, the published port for Docker bridge networks,
  a `core.tunnels` forward over the host's shared SSH connection for SSH hosts (held by the keeper,
  reconnecting by itself when the link drops);
- probes starting replicas (TCP, or the spec's HTTP health path) and adds the ready ones to the
  endpoint; restarts dead ones with exponential backoff (counted, recorded as events); fails a
  revision whose replica dies `FAIL_AFTER` times without ever becoming ready;
- drains replicas no longer wanted (no new requests), then stops them once nothing is in flight;
- asks each revision's autoscaler for a decision and records it with its reason.

The endpoint is a data plane (`core.serve.dataplane`): an HAProxy child when HAProxy is installed,
else an aiohttp proxy on the keeper's own event loop.

It exits, clearing its endpoint, when no revision of the service is active and no replica is left.
Slow work (store, engine) runs in a worker thread; the event loop only proxies requests (aiohttp)
or watches the HAProxy child.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.paths import home_path
from core.serve.autoscaler import Autoscaler, ScalePolicy
from core.serve.dataplane import start_dataplane
from core.serve.endpoint import Upstream
from core.serve.models import Replica, Revision, ServeError, uses_port_env
from core.serve.store import ServeStore

TICK = 0.25
FAIL_AFTER = 5
MAX_BACKOFF = 30.0
CPU_WINDOW = 1.0  # seconds over which a replica's CPU use is averaged
LOCK_WAIT = 5.0  # a keeper that is exiting lets go of the lock within this
LABEL_SERVICE, LABEL_REVISION, LABEL_REPLICA = "vessl-tui.service", "vessl-tui.revision", "vessl-tui.replica"


def serve_dir() -> Path:
    path = home_path() / "serve"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def spawn_keeper(service: str) -> int:
    """Start the keeper of `service` detached (own session, output to serve/<service>.log)."""
    root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    with open(serve_dir() / f"{_safe(service)}.log", "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "core.serve.keeper", service], stdin=subprocess.DEVNULL, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True, close_fds=True, env=env, cwd=str(serve_dir()),
        )
    return proc.pid


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def probe_sync(host: str, port: int, path: str | None, timeout: float = 0.5) -> bool:
    """Blocking readiness check: TCP connect, or HTTP GET `path` answering < 500."""
    if not path:
        try:
            socket.create_connection((host, port), timeout=timeout).close()
            return True
        except OSError:
            return False
    import http.client

    client = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        client.request("GET", path)
        return client.getresponse().status < 500
    except (OSError, http.client.HTTPException):
        return False
    finally:
        client.close()


@dataclass
class ReplicaState:
    """What the keeper knows of one replica between ticks."""

    row: Replica
    ready_once: bool = False
    failures: int = 0  # consecutive deaths before becoming ready
    next_start: float = 0.0
    draining: bool = False
    reach: Any = None  # the core.tunnels.Tunnel the endpoint connects through, once the run has started
    said: str | None = None  # the last "not reachable yet" reason recorded

    def forget_reach(self, launcher) -> None:
        if self.reach is not None:
            launcher.release(self.reach)
            self.reach = None
            self.row.address = None


class EngineLauncher:
    """Replicas as supervised runs of the engine."""

    def __init__(self) -> None:
        from core.engine import Engine

        self.engine = Engine()
        self._cpu: dict[str, tuple[float, float]] = {}  # run id -> (when, cpu seconds)
        self._cpu_percent: dict[str, float] = {}
        from core.tunnels import TunnelManager

        self.tunnels = TunnelManager()

    def start(self, service: str, rev: Revision, spec, index: int, port: int) -> str:
        from core.spec.runspec import Port

        spec = spec.model_copy(deep=True)
        spec.name = f"{service}-r{rev.number}-{index}"
        spec.retry = None
        spec.ports = [Port(container_port=port, protocol="http")]
        labels = {LABEL_SERVICE: service, LABEL_REVISION: str(rev.number), LABEL_REPLICA: str(index)}
        env = {"PORT": str(port), "VESSL_TUI_REPLICA": str(index)}
        return self.engine.submit_spec(spec, rev.cluster, labels=labels, extra_env=env).id

    def status(self, run_id: str) -> tuple[bool, str | None]:
        """(ended, how) of the run behind a replica; a run removed meanwhile has ended. A replica
        whose supervisor died is repaired (reconciled every few seconds) like any client would."""
        from core.engine import EngineError

        try:
            self.engine.reconcile_every()
            rec = self.engine.get(run_id)
        except EngineError:
            return True, "removed"
        if not rec.final:
            return False, None
        how = f"exit {rec.exit_code}" if rec.exit_code is not None else rec.status
        return True, f"{how}{f' ({rec.reason})' if rec.reason else ''}"

    def reach(self, run_id: str, port: int):
        """The `core.tunnels.Tunnel` through which this machine reaches `port` of the replica's run:
        direct (local processes, Docker ports) or forwarded over SSH; None until the run has started.
        Raises BackendError / EngineError when the backend cannot say."""
        from core.backends.base import PortAccess

        rec = self.engine.get(run_id)
        if not rec.handle or rec.final:
            return None
        backend = self.engine.backend(rec.cluster)
        if not isinstance(backend, PortAccess):
            from core.tunnels import Tunnel

            return Tunnel(run_id=run_id, remote_port=port, target=("127.0.0.1", port), local_port=port, kind="direct")
        return self.tunnels.open(backend, self.engine.run_context(run_id), rec.handle, port)

    def release(self, tunnel) -> None:
        self.tunnels.close(tunnel)

    def close(self) -> None:
        self.tunnels.close_all()

    def stop(self, run_id: str) -> None:
        from core.engine import EngineError

        try:
            self.engine.stop(run_id)
        except EngineError:
            pass

    def gpu_percent(self, run_ids: list[str]) -> float | None:
        """Mean utilization of the GPUs the replicas' runs hold; None when they hold none."""
        return self.engine.gpu_utilization(run_ids)

    def sample(self, run_id: str) -> dict[str, float]:
        """{"cpu_percent", "memory_percent"} of a replica (100 = one core / all its memory), from its
        backend's `RunMetrics`; {} when the backend cannot say. CPU from cumulative `cpu_seconds` is a
        rate over at least `CPU_WINDOW` seconds; memory without a limit is a share of this host's."""
        from core.backends.base import RunMetrics

        try:
            rec = self.engine.get(run_id)
            backend = self.engine.backend(rec.cluster)
            if not isinstance(backend, RunMetrics) or not rec.handle:
                return {}
            raw = backend.sample(self.engine.run_context(run_id), rec.handle)
        except Exception:  # a replica going away mid-sample reads as "no sample"
            return {}
        out: dict[str, float] = {}
        if "cpu_percent" in raw:
            out["cpu_percent"] = float(raw["cpu_percent"])
        elif "cpu_seconds" in raw:
            now, seconds = time.monotonic(), float(raw["cpu_seconds"])
            last = self._cpu.get(run_id)
            if last is None or now - last[0] >= CPU_WINDOW:
                if last is not None:
                    self._cpu_percent[run_id] = 100.0 * (seconds - last[1]) / (now - last[0])
                self._cpu[run_id] = (now, seconds)
            if run_id in self._cpu_percent:
                out["cpu_percent"] = self._cpu_percent[run_id]
        if "memory_bytes" in raw:
            limit = raw.get("memory_limit_bytes") or _host_memory_bytes()
            if limit:
                out["memory_percent"] = 100.0 * float(raw["memory_bytes"]) / float(limit)
        return out


def _host_memory_bytes() -> float | None:
    try:
        return float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError):
        return None


def resolve_secrets(spec):
    """Put secret values back into a stored (redacted) spec from its source file, in memory only."""
    missing = [e.name for e in spec.env if e.secret and e.secret_ref is None]
    if not missing and not spec.registry_password:
        return spec
    from core.spec import load_spec
    from core.spec.errors import SpecError

    try:
        source = load_spec(spec.source_file, document=spec.document_index) if spec.source_file else None
    except (OSError, SpecError):
        source = None
    values = source.secret_values() if source else {}
    gone = [name for name in missing if name not in values]
    if gone:
        raise ServeError(f"the secret value of {', '.join(gone)} is not stored and the revision's file is gone "
                         "or changed; create a new revision from the file.")
    for env in spec.env:
        if env.name in values:
            env.value = values[env.name]
    if source and source.registry_password:
        spec.registry_password = source.registry_password
    return spec


class Keeper:
    """The loop of one service. `launcher` starts/stops replicas (the engine by default)."""

    def __init__(self, service: str, launcher=None):
        self.service = service
        self.launcher = launcher or EngineLauncher()
        self.store = ServeStore()
        self.endpoint = None  # a data plane (core.serve.dataplane), once started
        self.replicas: dict[tuple[int, int], ReplicaState] = {}
        self.scalers: dict[int, Autoscaler] = {}
        self.specs: dict[int, object] = {}
        self._revisions: dict[int, Revision] = {}  # this tick's revisions (what the endpoint weighs)

    # lifecycle --------------------------------------------------------------------------------
    async def run(self) -> None:
        svc = self.store.service(self.service)
        try:
            self.endpoint, notes = await start_dataplane(serve_dir() / f"{_safe(self.service)}.endpoint",
                                                         svc.endpoint_port or 0)
        except OSError:
            self._fail_all(f"port clash: the endpoint port {svc.endpoint_port} is already in use; "
                           "start the revision with another --port.")
            return
        except ServeError as exc:
            self._fail_all(str(exc))
            return
        url = self.endpoint.url
        self.store.set_endpoint(self.service, url, self.endpoint.port, os.getpid(), self.endpoint.name)
        for note in notes:
            self.store.add_event(self.service, None, "endpoint", note)
        self.store.add_event(self.service, None, "endpoint", f"endpoint {url} up ({self.endpoint.name} data plane)")
        self._adopt()
        try:
            while True:
                while await asyncio.to_thread(self.safe_tick):
                    await asyncio.sleep(TICK)
                # clear the pid first, then look once more: a revision started meanwhile either shows
                # up here, or its client saw no keeper and spawned the next one (which waits for our lock)
                self.store.set_endpoint(self.service, None, None, None)
                if not any(r.active for r in self.store.revisions(self.service)):
                    break
                self.store.set_endpoint(self.service, url, self.endpoint.port, os.getpid(), self.endpoint.name)
        finally:
            self.store.set_endpoint(self.service, None, None, None)
            self.store.add_event(self.service, None, "endpoint", "endpoint down: no revision running")
            await self.endpoint.stop()
            if hasattr(self.launcher, "close"):
                self.launcher.close()

    def _fail_all(self, reason: str) -> None:
        for rev in self.store.revisions(self.service):
            if rev.active:
                self.store.update_revision(rev.service, rev.number, status="failed", reason=reason)
        self.store.add_event(self.service, None, "endpoint", reason)

    def _adopt(self) -> None:
        """Take over replicas a previous keeper left running (it was killed): no duplicates."""
        for row in self.store.replicas(self.service):
            if row.run_id and row.status not in ("stopped", "failed"):
                ended, _ = self.launcher.status(row.run_id)
                if not ended:
                    row.status = "starting"
                    self.replicas[(row.revision, row.index)] = ReplicaState(row)

    # one tick (worker thread) -----------------------------------------------------------------
    def safe_tick(self) -> bool:
        """`tick`, but a failure is logged (the keeper's log file) and retried, never fatal."""
        try:
            return self.tick()
        except Exception as exc:  # noqa: BLE001 - the endpoint must stay up whatever one tick hits
            message = f"{type(exc).__name__}: {exc}"
            print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} keeper tick failed: {message}", file=sys.stderr, flush=True)
            time.sleep(1.0)
            return True

    def tick(self) -> bool:
        """Reconcile once; False when the keeper has nothing left to do."""
        self.store.heartbeat(self.service, os.getpid())
        for note in self.endpoint.take_notes():
            self.store.add_event(self.service, None, "endpoint", note)
        revisions = self._revisions = {r.number: r for r in self.store.revisions(self.service)}
        for number in {k[0] for k in self.replicas} - {n for n, r in revisions.items() if r.active}:
            self._retire(number, revisions.get(number))
        for rev in revisions.values():
            if rev.active:
                self._keep(rev)
        self._publish(revisions)
        return any(r.active for r in revisions.values()) or bool(self.replicas)

    def _keep(self, rev: Revision) -> None:
        try:
            spec = self.specs.get(rev.number) or resolve_secrets(rev.spec())
        except ServeError as exc:
            self._fail(rev, str(exc))
            return
        self.specs[rev.number] = spec
        now = time.monotonic()
        for index in range(rev.desired):
            state = self.replicas.get((rev.number, index))
            if state is None or (state.row.status == "restarting" and now >= state.next_start):
                if not self._start_replica(rev, spec, index, state):
                    return
            elif state.draining:  # wanted again before it was stopped: probe it back in
                state.draining = False
                state.row.status = "starting"
                self.store.save_replica(state.row)
        for (number, index), state in list(self.replicas.items()):
            if number != rev.number:
                continue
            if index >= rev.desired:
                self._drain(state)
            elif state.row.status in ("starting", "ready") and not self._check_alive(rev, state):
                return
            elif state.row.status == "starting" and self._probe(rev, state, spec.service.health_path):
                state.row.status, state.ready_once, state.failures = "ready", True, 0
                self._publish(self._revisions)  # in the endpoint before the store calls it ready
                self.store.save_replica(state.row)
                self.store.add_event(rev.service, rev.number, "replica", f"replica {index} ready")
        self._update_status(rev)
        self._autoscale(rev, spec)

    def _probe(self, rev: Revision, state: ReplicaState, health_path: str | None) -> bool:
        """Is a starting replica ready? Finds how to reach it first (once its run has started)."""
        if state.reach is None:
            try:
                state.reach = self.launcher.reach(state.row.run_id, state.row.port)
            except Exception as exc:  # BackendError / EngineError: said once, tried again next tick
                message = f"replica {state.row.index} not reachable yet: {exc}"
                if state.said != message:
                    state.said = message
                    self.store.add_event(rev.service, rev.number, "replica", message)
                return False
            if state.reach is None:
                return False
            tunnel = state.reach
            host, port = tunnel.address
            state.row.address = f"{host}:{port}" + (" (ssh tunnel)" if tunnel.kind == "ssh" else "")
            self.store.save_replica(state.row)
        if health_path:
            return probe_sync(*state.reach.address, health_path)
        return state.reach.reachable()

    def _start_replica(self, rev: Revision, spec, index: int, state: ReplicaState | None) -> bool:
        if state is not None:
            state.forget_reach(self.launcher)
        port = free_port() if uses_port_env(spec) else spec.service.port
        try:
            run_id = self.launcher.start(rev.service, rev, spec, index, port)
        except Exception as exc:  # EngineError / SpecError / BackendError: one sentence for the user
            self._fail(rev, f"replica {index} could not start: {exc}")
            return False
        if state is None:
            state = ReplicaState(Replica(rev.service, rev.number, index, "starting"))
            self.replicas[(rev.number, index)] = state
        state.row.run_id, state.row.port, state.row.status = run_id, port, "starting"
        self.store.save_replica(state.row)
        return True

    def _check_alive(self, rev: Revision, state: ReplicaState) -> bool:
        """Handle a dead replica (restart with backoff, or fail the revision). False: revision failed."""
        ended, how = self.launcher.status(state.row.run_id)
        if not ended:
            return True
        row = state.row
        state.forget_reach(self.launcher)
        row.restarts += 1
        row.last_exit = how
        state.failures = 0 if state.ready_once else state.failures + 1
        state.ready_once = False
        if state.failures >= FAIL_AFTER:
            self._fail(rev, f"replica {row.index} exited {state.failures} times before becoming ready "
                            f"(last: {how}); see `vessl-tui revision logs {rev.number} --replica {row.index}`.")
            return False
        delay = min(MAX_BACKOFF, 0.5 * 2 ** max(state.failures - 1, 0))
        state.next_start = time.monotonic() + delay
        row.status = "restarting"
        self.store.save_replica(row)
        self.store.add_event(rev.service, rev.number, "replica",
                             f"replica {row.index} ended ({how}); restart {row.restarts} in {delay:g}s")
        return True

    def _drain(self, state: ReplicaState) -> None:
        row = state.row
        if not state.draining:
            state.draining = True
            row.status = "stopping"
            self.store.save_replica(row)
            return  # published this tick; stopped once nothing is in flight
        if self.endpoint.outstanding((row.revision, row.index)) == 0:
            if row.run_id:
                self.launcher.stop(row.run_id)
            state.forget_reach(self.launcher)
            row.status = "stopped"
            self.store.save_replica(row)
            del self.replicas[(row.revision, row.index)]
            self.store.add_event(row.service, row.revision, "replica", f"replica {row.index} stopped")

    def _retire(self, number: int, rev: Revision | None) -> None:
        """Drain and stop every replica of a revision that is no longer active (or deleted)."""
        for (n, _), state in list(self.replicas.items()):
            if n == number:
                self._drain(state)
        self.scalers.pop(number, None)
        self.specs.pop(number, None)

    def _fail(self, rev: Revision, reason: str) -> None:
        self.store.update_revision(rev.service, rev.number, status="failed", reason=reason)
        self.store.add_event(rev.service, rev.number, "action", f"failed: {reason}")
        rev.status = "failed"

    def _update_status(self, rev: Revision) -> None:
        if rev.status == "failed":
            return
        mine = [s for (n, _), s in self.replicas.items() if n == rev.number]
        settled = len(mine) == rev.desired and all(s.row.status == "ready" for s in mine)
        status = "running" if settled else ("starting" if rev.status == "starting" else "scaling")
        if status != rev.status:
            self.store.update_revision(rev.service, rev.number, status=status)
            if status == "running":
                self.store.add_event(rev.service, rev.number, "action", f"running with {rev.desired} replica(s)")
            rev.status = status

    # autoscaling ------------------------------------------------------------------------------
    def _autoscale(self, rev: Revision, spec) -> None:
        scaler = self.scalers.get(rev.number)
        auto = spec.service.autoscaling
        if scaler is None:
            policy = ScalePolicy(min=rev.min_replicas, max=rev.max_replicas, metric=rev.metric, target=rev.target,
                                 up_delay=auto.scale_up_delay, down_delay=auto.scale_down_delay)
            scaler = self.scalers[rev.number] = Autoscaler(policy)
        if rev.status != "running":
            return  # decide on settled replicas only
        decision = scaler.decide(rev.desired, self._reading(rev, scaler.policy), time.time())
        if decision is None:
            return
        if decision.desired > 1 and not uses_port_env(spec):
            self.store.add_event(rev.service, rev.number, "scale", f"kept {rev.desired}: {decision.reason}, but "
                                 "replicas on one machine cannot share the fixed port; listen on $PORT")
            return
        self.store.update_revision(rev.service, rev.number, desired=decision.desired, status="scaling")
        self.store.add_event(rev.service, rev.number, "scale",
                             f"{decision.current} -> {decision.desired} replicas: {decision.reason}")

    def _reading(self, rev: Revision, policy: ScalePolicy) -> float | None:
        ready = [s for (n, _), s in self.replicas.items() if n == rev.number and s.row.status == "ready"]
        if not ready or not policy.follows_metric:
            return None
        if policy.metric in ("rps", "inflight"):
            window = max(1.0, min(10.0, policy.up_delay))
            stats = self.endpoint.stats(window).get(rev.number, {"rps": 0.0, "inflight": 0})
            return stats[policy.metric] / len(ready)
        if policy.metric == "gpu":  # the replicas' own GPUs (the ledger's), not the machine's
            return self.launcher.gpu_percent([s.row.run_id for s in ready])
        key = f"{policy.metric}_percent"
        values = [v for v in (self.launcher.sample(s.row.run_id).get(key) for s in ready) if v is not None]
        return sum(values) / len(values) if len(values) == len(ready) else None

    # endpoint ---------------------------------------------------------------------------------
    def _publish(self, revisions: dict[int, Revision]) -> None:
        """Hand the ready set and the weights to the endpoint and wait until applied."""
        upstreams = [
            Upstream(revision=n, index=i, host=s.reach.address[0], port=s.reach.address[1], draining=s.draining)
            for (n, i), s in self.replicas.items() if s.row.status in ("ready", "stopping") and s.reach is not None
        ]
        self.endpoint.publish(upstreams, self._weights(revisions))

    def _weights(self, revisions: dict[int, Revision]) -> dict[int, float]:
        explicit = self.store.service(self.service).weights
        active = [n for n, r in revisions.items() if r.active]
        if explicit and any(explicit.get(n, 0) > 0 for n in active):
            return {n: w for n, w in explicit.items() if n in active}
        return {max(active): 1.0} if active else {}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    service = argv[0]
    lock = open(serve_dir() / f"{_safe(service)}.lock", "w")
    deadline = time.monotonic() + LOCK_WAIT
    while True:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() > deadline:
                return 0  # another keeper serves this service
            time.sleep(0.1)
    asyncio.run(Keeper(service).run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
