"""Serve tables in the SQLite store: services, revisions, replicas and serve events.

Every client (CLI, TUI, the per-service keeper process) opens its own connection to the one store
file (`core.store.connect`); the tables follow their own schema version (`ensure_schema`, namespace
"serve") and bump the store's change counter, so a screen polling `data_version()` sees serve
changes too (keeper heartbeats excepted). Revisions are immutable once created except for
their status, desired replica count and reason. Secrets never reach these tables: the spec is stored
redacted (`RunSpec.redacted`).
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from core.store import change_triggers, connect, ensure_schema, transaction
from core.serve.models import Replica, Revision, ServeError, ServeEvent, Service, dump_weights, load_weights

SCHEMA = """
CREATE TABLE IF NOT EXISTS serve_services (
    name TEXT PRIMARY KEY,
    created_at REAL NOT NULL,
    endpoint_url TEXT,
    endpoint_port INTEGER,
    pid INTEGER,
    heartbeat_at REAL,
    weights TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS serve_revisions (
    service TEXT NOT NULL,
    number INTEGER NOT NULL,
    message TEXT,
    status TEXT NOT NULL,
    desired INTEGER NOT NULL,
    min_replicas INTEGER NOT NULL,
    max_replicas INTEGER NOT NULL,
    metric TEXT,
    target REAL,
    cluster TEXT,
    spec_json TEXT NOT NULL,
    created_at REAL NOT NULL,
    reason TEXT,
    PRIMARY KEY (service, number)
);
CREATE TABLE IF NOT EXISTS serve_replicas (
    service TEXT NOT NULL,
    revision INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    status TEXT NOT NULL,
    run_id TEXT,
    host TEXT NOT NULL DEFAULT '127.0.0.1',
    port INTEGER,
    restarts INTEGER NOT NULL DEFAULT 0,
    last_exit TEXT,
    updated_at REAL NOT NULL,
    PRIMARY KEY (service, revision, idx)
);
CREATE TABLE IF NOT EXISTS serve_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    service TEXT NOT NULL,
    revision INTEGER,
    at REAL NOT NULL,
    kind TEXT NOT NULL,
    message TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS serve_events_by_service ON serve_events (service, id);
"""

_REVISION_COLUMNS = ("service, number, message, status, desired, min_replicas, max_replicas, metric, target, "
                     "cluster, spec_json, created_at, reason")


_STEPS = [
    SCHEMA
    + change_triggers("serve_services", ["name", "endpoint_url", "endpoint_port", "pid", "weights"])
    + change_triggers("serve_revisions")
    + change_triggers("serve_replicas")
    + change_triggers("serve_events"),
    # where the endpoint reaches each replica from this machine ("127.0.0.1:40123 (ssh tunnel)")
    "ALTER TABLE serve_replicas ADD COLUMN address TEXT;",
    # which data plane serves the endpoint: "haproxy" or "aiohttp" (None while none runs)
    "ALTER TABLE serve_services ADD COLUMN dataplane TEXT;",
]


class ServeStore:
    """Serve rows in the shared store (`core.store`). Blocking: call it off any UI loop."""

    def __init__(self, path: Path | None = None):
        self.db = connect(path)
        ensure_schema(self.db, "serve", _STEPS)

    def close(self) -> None:
        self.db.close()

    def transaction(self):
        return transaction(self.db)

    # services ---------------------------------------------------------------------------------
    def ensure_service(self, name: str) -> Service:
        self.db.execute("INSERT OR IGNORE INTO serve_services (name, created_at) VALUES (?, ?)", (name, time.time()))
        return self.service(name)

    def service(self, name: str) -> Service:
        row = self.db.execute("SELECT * FROM serve_services WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise ServeError(f"no service named {name!r}; `vessl-tui revision list` shows the services.")
        return _service(row)

    def services(self) -> list[Service]:
        return [_service(r) for r in self.db.execute("SELECT * FROM serve_services ORDER BY name")]

    def set_endpoint(self, name: str, url: str | None, port: int | None, pid: int | None,
                     dataplane: str | None = None) -> None:
        """The endpoint as its keeper serves it (url None: it serves none); `dataplane` names the
        proxy that carries its requests."""
        self.db.execute(
            "UPDATE serve_services SET endpoint_url = ?, endpoint_port = COALESCE(?, endpoint_port), pid = ?, "
            "heartbeat_at = ?, dataplane = ? WHERE name = ?",
            (url, port, pid, time.time() if pid else None, dataplane if url else None, name),
        )

    def heartbeat(self, name: str, pid: int) -> None:
        self.db.execute("UPDATE serve_services SET heartbeat_at = ? WHERE name = ? AND pid = ?", (time.time(), name, pid))

    def set_weights(self, name: str, weights: dict[int, float]) -> None:
        self.db.execute("UPDATE serve_services SET weights = ? WHERE name = ?", (dump_weights(weights), name))

    def delete_service(self, name: str) -> None:
        self.db.execute("DELETE FROM serve_services WHERE name = ?", (name,))

    # revisions --------------------------------------------------------------------------------
    def add_revision(self, rev: Revision) -> Revision:
        """Store `rev` under the next number of its service (the number on `rev` is ignored)."""
        with self.transaction() as db:
            db.execute("INSERT OR IGNORE INTO serve_services (name, created_at) VALUES (?, ?)",
                       (rev.service, time.time()))
            (last,) = db.execute("SELECT COALESCE(MAX(number), 0) FROM serve_revisions WHERE service = ?",
                                 (rev.service,)).fetchone()
            rev.number = last + 1
            db.execute(
                f"INSERT INTO serve_revisions ({_REVISION_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (rev.service, rev.number, rev.message, rev.status, rev.desired, rev.min_replicas, rev.max_replicas,
                 rev.metric, rev.target, rev.cluster, rev.spec_json, rev.created_at, rev.reason),
            )
        return rev

    def revision(self, service: str, number: int) -> Revision:
        row = self.db.execute(
            f"SELECT {_REVISION_COLUMNS} FROM serve_revisions WHERE service = ? AND number = ?", (service, number)
        ).fetchone()
        if row is None:
            raise ServeError(f"service {service!r} has no revision {number}; `vessl-tui revision list` shows them.")
        return self._with_counts(_revision(row))

    def revisions(self, service: str | None = None) -> list[Revision]:
        where, args = ("WHERE service = ?", (service,)) if service else ("", ())
        rows = self.db.execute(
            f"SELECT {_REVISION_COLUMNS} FROM serve_revisions {where} ORDER BY service, number DESC", args
        ).fetchall()
        return [self._with_counts(_revision(r)) for r in rows]

    def find_revisions(self, number: int) -> list[Revision]:
        rows = self.db.execute(f"SELECT {_REVISION_COLUMNS} FROM serve_revisions WHERE number = ?", (number,))
        return [self._with_counts(_revision(r)) for r in rows.fetchall()]

    def update_revision(self, service: str, number: int, **values) -> None:
        allowed = {"status", "desired", "reason"}
        if not values or set(values) - allowed:
            raise ValueError(f"only {sorted(allowed)} of a revision change")
        cols = ", ".join(f"{k} = ?" for k in values)
        self.db.execute(f"UPDATE serve_revisions SET {cols} WHERE service = ? AND number = ?",
                        (*values.values(), service, number))

    def delete_revision(self, service: str, number: int) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM serve_replicas WHERE service = ? AND revision = ?", (service, number))
            db.execute("DELETE FROM serve_revisions WHERE service = ? AND number = ?", (service, number))

    def _with_counts(self, rev: Revision) -> Revision:
        row = self.db.execute(
            "SELECT COALESCE(SUM(status = 'ready'), 0), COALESCE(SUM(restarts), 0) FROM serve_replicas "
            "WHERE service = ? AND revision = ?", (rev.service, rev.number)).fetchone()
        rev.ready, rev.restarts = int(row[0]), int(row[1])
        return rev

    # replicas ---------------------------------------------------------------------------------
    def replicas(self, service: str, revision: int | None = None) -> list[Replica]:
        where, args = ("AND revision = ?", (service, revision)) if revision is not None else ("", (service,))
        rows = self.db.execute(f"SELECT * FROM serve_replicas WHERE service = ? {where} ORDER BY revision, idx", args)
        return [_replica(r) for r in rows.fetchall()]

    def save_replica(self, rep: Replica) -> None:
        rep.updated_at = time.time()
        self.db.execute(
            "INSERT OR REPLACE INTO serve_replicas (service, revision, idx, status, run_id, host, port, restarts, "
            "last_exit, updated_at, address) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (rep.service, rep.revision, rep.index, rep.status, rep.run_id, rep.host, rep.port, rep.restarts,
             rep.last_exit, rep.updated_at, rep.address),
        )

    def delete_replica(self, service: str, revision: int, index: int) -> None:
        self.db.execute("DELETE FROM serve_replicas WHERE service = ? AND revision = ? AND idx = ?",
                        (service, revision, index))

    # events -----------------------------------------------------------------------------------
    def add_event(self, service: str, revision: int | None, kind: str, message: str) -> None:
        self.db.execute("INSERT INTO serve_events (service, revision, at, kind, message) VALUES (?,?,?,?,?)",
                        (service, revision, time.time(), kind, message))

    def events(self, service: str, revision: int | None = None, kinds: tuple[str, ...] = ()) -> list[ServeEvent]:
        sql, args = "SELECT service, revision, at, kind, message FROM serve_events WHERE service = ?", [service]
        if revision is not None:
            sql += " AND revision = ?"
            args.append(revision)
        if kinds:
            sql += f" AND kind IN ({','.join('?' * len(kinds))})"
            args.extend(kinds)
        return [ServeEvent(*r) for r in self.db.execute(sql + " ORDER BY id", args).fetchall()]

    def data_version(self) -> int:
        """Changes whenever a run, event or serve row changes (heartbeats excepted): a cheap poll."""
        return int(self.db.execute("SELECT version FROM changes WHERE id = 1").fetchone()[0])


def _service(row: sqlite3.Row) -> Service:
    return Service(name=row["name"], created_at=row["created_at"], endpoint_url=row["endpoint_url"],
                   endpoint_port=row["endpoint_port"], pid=row["pid"], heartbeat_at=row["heartbeat_at"],
                   weights=load_weights(row["weights"]), dataplane=row["dataplane"])


def _revision(row: sqlite3.Row) -> Revision:
    return Revision(**{k: row[k] for k in row.keys()})


def _replica(row: sqlite3.Row) -> Replica:
    return Replica(service=row["service"], revision=row["revision"], index=row["idx"], status=row["status"],
                   run_id=row["run_id"], host=row["host"], port=row["port"], restarts=row["restarts"],
                   last_exit=row["last_exit"], updated_at=row["updated_at"], address=row["address"])
