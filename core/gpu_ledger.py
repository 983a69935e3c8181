"""The GPU ledger: which GPUs of each host the active runs hold, and which runs wait for them.

    ledger_host(cluster) -> str | None      the key a cluster's GPUs are counted under: "local" for
                                            this machine (local processes, Docker engines here),
                                            "ssh:HOST:PORT" for an SSH host (processes or its Docker
                                            engine), "docker:URL" for another engine; None: GPUs
                                            this cluster kind allocates itself (Slurm)
    ledger = GpuLedger(conn)                tables in the store (namespace "gpus", own schema version)
    ledger.enqueue(run_id, host, count, candidates)   at submit: the run's place in the host's queue
    ledger.take(run_id, host, count, candidates) -> list[dict] | None
                                            in one transaction: the run's GPUs, or None and the run
                                            keeps its place (first submitted, first served per host)
    ledger.release(run_id) -> list[str]     drop the run's GPUs and its place in the queue; returns
                                            the runs waiting on the hosts it freed (to wake)
    ledger.held(run_id), ledger.claims(host=None), ledger.queue(host=None), ledger.waiting_reason(...)
    ledger.allocation(host) -> {"host", "holders": {index: {"run_id", "name"}}, "queue": [...]}
    release_and_wake(conn, run_id, home)    release, then wake the waiters it names
    Wakeup(run_dir) / wake(run_ids, home)   the push channel: the run folder's watch (core.runwatch)

Atomicity: `take` runs in one `BEGIN IMMEDIATE` transaction and (host, index) is the claims table's
primary key, so no GPU is ever held twice, whichever clients and supervisors take at once.

Waiting is pushed, not polled: a waiting supervisor sleeps on the project's one wait primitive, a
`core.runwatch.RunWatch` on its run folder; whoever frees GPUs (a supervisor at its run's end or
once it took its GPUs, a client stopping a waiting run, `reconcile` finding a run lost) appends a
byte to the `gpu.wake` file of every run waiting on that host. The waiter also wakes at its
heartbeat (5 s): that re-check only guards against a wake lost to a releaser that died between its
commit and its wake. (Where inotify is missing, RunWatch itself looks every 0.25 s at most: its own
documented fallback.)
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from core.store import change_triggers, ensure_schema, transaction

if TYPE_CHECKING:
    from core.config import ClusterConfig

SCHEMA = """
CREATE TABLE IF NOT EXISTS gpu_claims (
    host TEXT NOT NULL,
    gpu_index INTEGER NOT NULL,
    gpu_uuid TEXT,
    run_id TEXT NOT NULL,
    taken_at REAL NOT NULL,
    PRIMARY KEY (host, gpu_index)
);
CREATE INDEX IF NOT EXISTS gpu_claims_by_run ON gpu_claims(run_id);
CREATE TABLE IF NOT EXISTS gpu_waiters (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL UNIQUE,
    host TEXT NOT NULL,
    count INTEGER NOT NULL,
    candidates TEXT NOT NULL,
    since REAL NOT NULL
);
""" + change_triggers("gpu_claims") + change_triggers("gpu_waiters")

WAKE_FILE = "gpu.wake"
ACTIVE = "('pending', 'provisioning', 'running')"
#: A queued run whose supervisor has not started yet keeps its place this long (as the engine's
#: STARTUP_GRACE_SECONDS: after it, reconcile finds the run lost and takes it out of the queue).
WAITER_GRACE_SECONDS = 60.0
LOCAL_HOST = "local"


def ledger_host(cluster: "ClusterConfig") -> str | None:
    """The host key `cluster`'s GPUs are counted under (see the module's docstring)."""
    from core.metrics import _LOOPBACK, _docker_engine_url, gpu_host_cluster

    if cluster.kind not in ("local", "ssh", "docker"):
        return None
    if cluster.kind == "local":
        return LOCAL_HOST
    remote = gpu_host_cluster(cluster)
    if remote is not None:
        return f"ssh:{remote.host}:{remote.port or 22}"
    url = urlsplit(_docker_engine_url(cluster))
    if url.scheme in ("", "unix", "npipe") or (url.hostname or "") in _LOOPBACK:
        return LOCAL_HOST
    return f"docker:{url.scheme}://{url.hostname}:{url.port or ''}"


def host_label(host: str) -> str:
    """A host key as people read it: `this machine`, `gpu-box`, …"""
    if host == LOCAL_HOST:
        return "this machine"
    return host.split(":")[1] if host.startswith("ssh:") else host.split("://", 1)[-1]


class GpuLedger:
    """The claims and the queue on one store connection. Every write is one short transaction."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn
        ensure_schema(conn, "gpus", [SCHEMA])

    # --- taking and releasing ------------------------------------------------------------------

    def enqueue(self, run_id: str, host: str, count: int, candidates: list[dict[str, Any]]) -> None:
        """Give a run just submitted its place in `host`'s queue (places follow submission order)."""
        with transaction(self.conn) as conn:
            self._enqueue(conn, run_id, host, count, candidates)

    @staticmethod
    def _enqueue(conn: sqlite3.Connection, run_id: str, host: str, count: int, candidates: list[dict[str, Any]]) -> None:
        conn.execute(
            "INSERT OR IGNORE INTO gpu_waiters (run_id, host, count, candidates, since) VALUES (?, ?, ?, ?, ?)",
            (run_id, host, count, json.dumps(sorted({int(c["index"]) for c in candidates})), time.time()))

    def take(self, run_id: str, host: str, count: int, candidates: list[dict[str, Any]],
             alive: "Any | None" = None) -> list[dict[str, Any]] | None:
        """Claim `count` free GPUs among `candidates` (offers: {"index", "uuid", …}) for `run_id`, or
        keep (or give) it a place in the queue and return None. A run queued before it on the host
        that wants any of the same GPUs goes first, unless its supervisor is gone:
        `alive(run_id, supervisor_pid)` says, and a run whose supervisor has not started keeps its
        place for WAITER_GRACE_SECONDS. A run that already holds GPUs gets them back (a supervisor
        taking over)."""
        wanted = {int(c["index"]) for c in candidates}
        with transaction(self.conn) as conn:
            mine = self._held(conn, run_id)
            if mine:
                conn.execute("DELETE FROM gpu_waiters WHERE run_id = ?", (run_id,))
                return mine
            self._purge(conn, host)
            busy = {r[0] for r in conn.execute("SELECT gpu_index FROM gpu_claims WHERE host = ?", (host,))}
            row = conn.execute("SELECT seq FROM gpu_waiters WHERE run_id = ?", (run_id,)).fetchone()
            seq = row[0] if row else None
            now = time.time()
            ahead = [w for w in self._waiters(conn, host, before=seq, exclude=run_id)
                     if wanted & set(w["candidates"]) and (
                         now - w["since"] < WAITER_GRACE_SECONDS if w["supervisor_pid"] is None
                         else alive is None or alive(w["run_id"], w["supervisor_pid"]))]
            free = [c for c in candidates if int(c["index"]) not in busy]
            if not ahead and len(free) >= count:
                chosen = free[:count]
                conn.executemany(
                    "INSERT INTO gpu_claims (host, gpu_index, gpu_uuid, run_id, taken_at) VALUES (?, ?, ?, ?, ?)",
                    [(host, int(c["index"]), c.get("uuid"), run_id, now) for c in chosen])
                conn.execute("DELETE FROM gpu_waiters WHERE run_id = ?", (run_id,))
                return [{"index": int(c["index"]), "uuid": c.get("uuid")} for c in chosen]
            if seq is None:
                self._enqueue(conn, run_id, host, count, candidates)
            return None

    def release(self, run_id: str) -> list[str]:
        """Drop the run's GPUs and its place in the queue; the runs waiting on the hosts it left."""
        with transaction(self.conn) as conn:
            return self.release_in(conn, run_id)

    @staticmethod
    def _purge(conn: sqlite3.Connection, host: str) -> None:
        """Drop the host's claims and places of runs that ended or were removed without giving them
        back (a path that missed `release`): a GPU never stays held by a run that is over."""
        for table in ("gpu_claims", "gpu_waiters"):
            conn.execute(f"DELETE FROM {table} WHERE host = ? AND run_id NOT IN "
                         f"(SELECT id FROM runs WHERE status IN {ACTIVE})", (host,))

    @staticmethod
    def release_in(conn: sqlite3.Connection, run_id: str) -> list[str]:
        """`release` inside the caller's transaction (one that also records the run's end)."""
        hosts = {r[0] for r in conn.execute(
            "SELECT host FROM gpu_claims WHERE run_id = ? UNION SELECT host FROM gpu_waiters WHERE run_id = ?",
            (run_id, run_id))}
        if not hosts:
            return []
        conn.execute("DELETE FROM gpu_claims WHERE run_id = ?", (run_id,))
        conn.execute("DELETE FROM gpu_waiters WHERE run_id = ?", (run_id,))
        marks = ", ".join("?" for _ in hosts)
        return [r[0] for r in conn.execute(
            f"SELECT run_id FROM gpu_waiters WHERE host IN ({marks}) ORDER BY seq", tuple(hosts))]

    # --- reading -------------------------------------------------------------------------------

    @staticmethod
    def _held(conn: sqlite3.Connection, run_id: str) -> list[dict[str, Any]]:
        return [{"index": r[0], "uuid": r[1]} for r in conn.execute(
            "SELECT gpu_index, gpu_uuid FROM gpu_claims WHERE run_id = ? ORDER BY gpu_index", (run_id,))]

    def held(self, run_id: str) -> list[dict[str, Any]]:
        """The GPUs `run_id` holds: [{"index", "uuid"}], by index."""
        return self._held(self.conn, run_id)

    def claims(self, host: str | None = None) -> list[dict[str, Any]]:
        """Every claim (of one host): {"host", "index", "uuid", "run_id", "name", "taken_at"}."""
        sql = ("SELECT c.host, c.gpu_index, c.gpu_uuid, c.run_id, r.name, c.taken_at FROM gpu_claims c "
               f"JOIN runs r ON r.id = c.run_id AND r.status IN {ACTIVE}" + (" WHERE c.host = ?" if host else "") +
               " ORDER BY c.host, c.gpu_index")
        return [{"host": r[0], "index": r[1], "uuid": r[2], "run_id": r[3], "name": r[4], "taken_at": r[5]}
                for r in self.conn.execute(sql, (host,) if host else ())]

    @staticmethod
    def _waiters(conn: sqlite3.Connection, host: str | None, before: int | None = None,
                 exclude: str | None = None) -> list[dict[str, Any]]:
        where, args = [], []
        if host is not None:
            where.append("w.host = ?")
            args.append(host)
        if before is not None:
            where.append("w.seq < ?")
            args.append(before)
        if exclude is not None:
            where.append("w.run_id != ?")
            args.append(exclude)
        sql = ("SELECT w.run_id, w.host, w.count, w.candidates, w.since, r.name, r.supervisor_pid, w.seq "
               f"FROM gpu_waiters w JOIN runs r ON r.id = w.run_id AND r.status IN {ACTIVE}"
               + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY w.seq")
        return [{"run_id": r[0], "host": r[1], "count": r[2], "candidates": json.loads(r[3]), "since": r[4],
                 "name": r[5], "supervisor_pid": r[6], "seq": r[7]} for r in conn.execute(sql, args)]

    def queue(self, host: str | None = None) -> list[dict[str, Any]]:
        """The waiting runs (of one host), first come first: {"run_id", "name", "host", "count", "since", …}."""
        return self._waiters(self.conn, host)

    def allocation(self, host: str | None) -> dict[str, Any]:
        """Who holds each GPU of `host` and who waits, first come first (None: a host not counted)."""
        if host is None:
            return {"host": None, "holders": {}, "queue": []}
        return {"host": host,
                "holders": {c["index"]: {"run_id": c["run_id"], "name": c["name"]} for c in self.claims(host)},
                "queue": [{k: w[k] for k in ("run_id", "name", "count", "since")} for w in self.queue(host)]}

    def waiting_reason(self, run_id: str, host: str, count: int, candidates: list[dict[str, Any]],
                       cluster: str) -> str:
        """`waiting for 2 GPUs on gpu-box: held by run 3f2a0c11 (train-a), 9c1d7e00 (eval)`, plus the
        runs ahead in the queue when there are any."""
        wanted = {int(c["index"]) for c in candidates}
        holders: dict[str, str | None] = {}
        for claim in self.claims(host):
            if claim["index"] in wanted and claim["run_id"] != run_id:
                holders.setdefault(claim["run_id"], claim["name"])
        me = next((w for w in self.queue(host) if w["run_id"] == run_id), None)
        ahead = [w for w in self._waiters(self.conn, host, before=me["seq"] if me else None, exclude=run_id)
                 if wanted & set(w["candidates"])]
        parts = []
        if holders:
            parts.append("held by run " + ", ".join(f"{rid} ({name})" if name else rid for rid, name in holders.items()))
        if ahead:
            parts.append(f"{len(ahead)} run{'s' if len(ahead) != 1 else ''} ahead in the queue ("
                         + ", ".join(w["run_id"] for w in ahead[:3]) + (", …" if len(ahead) > 3 else "") + ")")
        return (f"waiting for {count} GPU{'s' if count != 1 else ''} on {cluster}: "
                + ("; ".join(parts) or "about to start"))


# --- waking waiters -------------------------------------------------------------------------------


class Wakeup:
    """A waiting run's end of the push channel: a `core.runwatch.RunWatch` on its run folder, where
    `wake` appends to the run's `gpu.wake` file. Made before the first `take`, so no release after
    it can be missed; `close` removes the file (a run that is not waiting cannot be woken)."""

    def __init__(self, run_dir: Path):
        from core.runwatch import RunWatch

        run_dir.mkdir(parents=True, exist_ok=True)
        self.path = run_dir / WAKE_FILE
        os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600))
        self.watch = RunWatch(run_dir)

    def wait(self, timeout: float) -> bool:
        """Sleep until the run's folder changes (a wake, or a write of our own) or `timeout` passes."""
        return self.watch.wait(timeout)

    def close(self) -> None:
        self.watch.close()
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass


def wake(run_ids: list[str], home: Path | None = None) -> None:
    """Wake each run's waiting supervisor (nothing happens for a run that is not waiting)."""
    from core.paths import run_dir

    for run_id in run_ids:
        try:
            fd = os.open(run_dir(run_id, home) / WAKE_FILE, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
        except (FileNotFoundError, NotADirectoryError):  # that run is not waiting now
            continue
        try:
            os.write(fd, b"!")
        finally:
            os.close(fd)


def release_and_wake(conn: sqlite3.Connection, run_id: str, home: Path | None = None) -> None:
    """Release `run_id`'s GPUs and queue place, then wake the runs waiting on the hosts it left."""
    wake(GpuLedger(conn).release(run_id), home)
