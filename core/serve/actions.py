"""Serve actions: create, start, stop, scale, reproduce, delete, traffic — what the CLI and TUI call.

Actions only write the wanted state to the store and make sure the service's keeper process runs;
the keeper (`core.serve.keeper`, one detached process per service) does the slow work: starting
replicas, probing readiness, restarting the dead, draining, autoscaling, serving the endpoint. So
every action returns at once, and nothing is lost when the client exits.

Revision references: `N` (when only one service has a revision N), `SERVICE:N`, or `N` with an
explicit `service`. Errors the user can fix raise `ServeError` (one sentence).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from core.serve.models import (
    Revision, ServeError, Service, canonical_metric, spec_problems, uses_port_env,
)
from core.serve.store import ServeStore

HEARTBEAT_STALE = 15.0


class ServeActions:
    """The serve façade over one store connection. Blocking (SQLite, process spawn)."""

    def __init__(self, store: ServeStore | None = None):
        self.store = store or ServeStore()

    # reading ----------------------------------------------------------------------------------
    def resolve(self, ref: str | int, service: str | None = None) -> Revision:
        """The revision behind `ref` (`N` or `SERVICE:N`)."""
        text = str(ref)
        if ":" in text:
            service, text = text.rsplit(":", 1)
        try:
            number = int(text)
        except ValueError:
            raise ServeError(f"{ref!r} is not a revision: use its number, or SERVICE:NUMBER.") from None
        if service:
            return self.store.revision(service, number)
        found = self.store.find_revisions(number)
        if not found:
            raise ServeError(f"there is no revision {number}; `vessl-tui revision list` shows the revisions.")
        if len(found) > 1:
            names = ", ".join(f"{r.service}:{number}" for r in found)
            raise ServeError(f"revision {number} exists in several services ({names}); name one with SERVICE:{number}.")
        return found[0]

    def live_endpoint(self, service: Service) -> str | None:
        """The endpoint URL while the service's keeper is alive, else None."""
        if not service.endpoint_url or not keeper_alive(service):
            return None
        return service.endpoint_url

    def reconcile(self) -> list[str]:
        """Restart the keeper of every service that has an active revision but no live keeper (it
        was killed): the new keeper adopts the running replicas. Returns the services restarted."""
        restarted = []
        for svc in self.store.services():
            if not keeper_alive(svc) and any(r.active for r in self.store.revisions(svc.name)):
                ensure_keeper(self.store, svc.name)
                restarted.append(svc.name)
        return restarted

    def listing(self) -> list[dict]:
        """One JSON-ready object per revision, newest first within each service."""
        services = {s.name: s for s in self.store.services()}
        return [self.describe(rev, services.get(rev.service)) for rev in self.store.revisions()]

    def describe(self, rev: Revision, svc: Service | None = None) -> dict:
        """The JSON-ready object of one revision (an item of `listing`; every `--json` answer)."""
        if svc is None:
            svc = next((s for s in self.store.services() if s.name == rev.service), None)
        url = self.live_endpoint(svc) if svc else None
        data = rev.as_json()
        data.update(
            replicas=f"{rev.ready}/{rev.desired}" if rev.active else "0",
            endpoint=url if rev.active else None,
            dataplane=svc.dataplane if url and rev.active else None,
            weight=(svc.weights.get(rev.number) if svc else None),
            autoscale=rev.autoscale_label,
        )
        return data

    # creating ---------------------------------------------------------------------------------
    def create(self, path: str | Path, service: str | None = None, cluster: str | None = None,
               start: bool = False, document: int = 0) -> Revision:
        """A new revision from a spec file (validated like a run spec); started when `start`."""
        from core.spec import load_spec

        spec = load_spec(path, document=document)
        return self.create_from_spec(spec, service=service, cluster=cluster, start=start)

    def create_from_spec(self, spec, service: str | None = None, cluster: str | None = None,
                         start: bool = False) -> Revision:
        check_spec(spec)
        auto = spec.service.autoscaling
        name = service or spec.name or (Path(spec.source_file).stem if spec.source_file else None)
        if not name:
            raise ServeError("the revision has no service name: pass --service NAME or set `name:` in the spec.")
        rev = Revision(
            service=name, number=0, message=spec.message or spec.description, status="created",
            desired=max(auto.min, 1), min_replicas=auto.min, max_replicas=auto.max,
            metric=canonical_metric(auto.metric), target=auto.target, cluster=cluster,
            spec_json=spec.redacted().model_dump_json(), created_at=time.time(),
        )
        rev = self.store.add_revision(rev)
        self.store.add_event(name, rev.number, "action", f"revision {rev.number} created")
        return self.start(rev) if start else rev

    def reproduce(self, ref: str | int, service: str | None = None, spec=None) -> Revision:
        """A new revision with the same spec as `ref` (or `spec`, an edited copy of it)."""
        old = self.resolve(ref, service)
        spec = spec if spec is not None else old.spec()
        rev = self.create_from_spec(spec, service=old.service, cluster=old.cluster)
        self.store.add_event(old.service, rev.number, "action", f"reproduced from revision {old.number}")
        return rev

    # acting -----------------------------------------------------------------------------------
    def start(self, ref: Revision | str | int, service: str | None = None, port: int | None = None) -> Revision:
        """Ask for `min` replicas (at least 1) and make sure the keeper runs. `port`: endpoint port."""
        rev = ref if isinstance(ref, Revision) else self.resolve(ref, service)
        if rev.active:
            raise ServeError(f"revision {rev.number} of {rev.service} is already {rev.status}.")
        desired = max(rev.min_replicas, 1)
        check_port_sharing(rev, desired)
        if port is not None:
            self._set_endpoint_port(rev.service, port)
        self.store.update_revision(rev.service, rev.number, status="starting", desired=desired, reason=None)
        self.store.add_event(rev.service, rev.number, "action", f"start with {desired} replica(s)")
        ensure_keeper(self.store, rev.service)
        return self.store.revision(rev.service, rev.number)

    def stop(self, ref: str | int, service: str | None = None) -> Revision:
        rev = self.resolve(ref, service)
        if not rev.active:
            raise ServeError(f"revision {rev.number} of {rev.service} is not running ({rev.status}).")
        self.store.update_revision(rev.service, rev.number, status="stopped", reason="stopped by the user")
        self.store.add_event(rev.service, rev.number, "action", "stop")
        ensure_keeper(self.store, rev.service)  # it drains and stops the replicas
        return self.store.revision(rev.service, rev.number)

    def scale(self, ref: str | int, replicas: int, service: str | None = None) -> Revision:
        rev = self.resolve(ref, service)
        if not rev.min_replicas <= replicas <= rev.max_replicas:
            raise ServeError(f"revision {rev.number} scales within {rev.min_replicas}..{rev.max_replicas} replicas; "
                             f"{replicas} is outside that range.")
        if not rev.active:
            raise ServeError(f"revision {rev.number} of {rev.service} is {rev.status}; start it before scaling.")
        check_port_sharing(rev, replicas)
        self.store.update_revision(rev.service, rev.number, status="scaling", desired=replicas)
        self.store.add_event(rev.service, rev.number, "scale", f"scale to {replicas} replica(s): asked by the user")
        ensure_keeper(self.store, rev.service)
        return self.store.revision(rev.service, rev.number)

    def delete(self, ref: str | int, service: str | None = None, force: bool = False) -> Revision:
        """Remove a revision; a running one only with `force` (its replicas are stopped first)."""
        rev = self.resolve(ref, service)
        if rev.active and not force:
            raise ServeError(f"revision {rev.number} of {rev.service} is {rev.status}; stop it first "
                             "or delete with --force.")
        if rev.active:
            self.store.update_revision(rev.service, rev.number, status="stopped", reason="deleted")
        self._stop_replica_runs(rev)
        self.store.delete_revision(rev.service, rev.number)
        weights = self.store.service(rev.service).weights
        if rev.number in weights:
            weights.pop(rev.number)
            self.store.set_weights(rev.service, weights)
        self.store.add_event(rev.service, rev.number, "action", f"revision {rev.number} deleted")
        return rev

    def set_traffic(self, service: str, weights: dict[int, float]) -> Service:
        """Split the endpoint's traffic between revisions by weight ({} = newest running takes all)."""
        self.store.service(service)
        for number, weight in weights.items():
            self.store.revision(service, number)
            if weight < 0:
                raise ServeError(f"weight {weight:g} of revision {number} is negative; use 0 or more.")
        if weights and sum(weights.values()) <= 0:
            raise ServeError("the weights add up to 0: give at least one revision a positive weight.")
        self.store.set_weights(service, weights)
        split = "/".join(f"{w:g}" for w in weights.values()) or "newest running revision"
        self.store.add_event(service, None, "action", f"traffic: {split}")
        return self.store.service(service)

    def replica_run(self, ref: str | int, replica: int = 0, service: str | None = None) -> str:
        """The run id of a replica (its current run), for logs and metrics."""
        rev = self.resolve(ref, service)
        for rep in self.store.replicas(rev.service, rev.number):
            if rep.index == replica and rep.run_id:
                return rep.run_id
        raise ServeError(f"revision {rev.number} of {rev.service} has no replica {replica}.")

    def _set_endpoint_port(self, service: str, port: int) -> None:
        if not 1 <= port <= 65535:
            raise ServeError(f"endpoint port {port} is not a port; use 1..65535.")
        svc = self.store.service(service)
        if keeper_alive(svc) and svc.endpoint_port not in (None, port):
            raise ServeError(f"service {service} already serves on port {svc.endpoint_port}; stop its revisions "
                             "to move it.")
        if not keeper_alive(svc) and not port_free(port):
            raise ServeError(f"port clash: port {port} is already in use on this machine; choose another --port.")
        self.store.db.execute("UPDATE serve_services SET endpoint_port = ? WHERE name = ?", (port, service))

    def _stop_replica_runs(self, rev: Revision) -> None:
        runs = [r.run_id for r in self.store.replicas(rev.service, rev.number) if r.run_id]
        if not runs:
            return
        from core.engine import Engine, EngineError

        engine = Engine()
        for run_id in runs:
            try:
                engine.stop(run_id)
            except EngineError:
                pass  # already gone


def check_spec(spec) -> None:
    """Raise SpecError (line:col when known) when `spec` cannot be served."""
    from core.spec.errors import Problem, SpecError

    problems = spec_problems(spec)
    if problems:
        file = spec.source_file or "<spec>"
        raise SpecError([
            Problem(file, *_position(spec, path), path, message) for path, message in problems
        ])


def _position(spec, path: str) -> tuple[int, int]:
    while path:
        if path in spec.positions:
            return tuple(spec.positions[path])
        path = path.rpartition(".")[0]
    return (1, 1)


def check_port_sharing(rev: Revision, replicas: int) -> None:
    """Port clash: replicas sharing one network cannot all listen on one fixed port."""
    if replicas <= 1:
        return
    spec = rev.spec()
    if not uses_port_env(spec):
        raise ServeError(
            f"port clash: {replicas} replicas on one machine cannot all listen on port {spec.service.port}; "
            "make the command listen on $PORT (each replica gets its own)."
        )


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    import socket

    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def keeper_alive(service: Service) -> bool:
    """True when the service's keeper process is alive and has beaten recently."""
    if not service.pid or not service.heartbeat_at or time.time() - service.heartbeat_at > HEARTBEAT_STALE:
        return False
    try:
        os.kill(service.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a killed keeper whose parent has not reaped it yet is a zombie: dead all the same
        return Path(f"/proc/{service.pid}/stat").read_text().split(") ", 1)[1][:1] != "Z"
    except (OSError, IndexError):
        return True


def ensure_keeper(store: ServeStore, service: str) -> None:
    """Start the service's keeper unless one is alive (a second one exits at once: it holds a lock)."""
    if keeper_alive(store.service(service)):
        return
    from core.serve.keeper import spawn_keeper

    spawn_keeper(service)
