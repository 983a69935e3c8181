"""The state store: one SQLite file (WAL) under VESSL_TUI_HOME shared by every client and supervisor.

    conn = connect()                        # a new connection: WAL, busy_timeout, schema migrated
    with transaction(conn): ...             # BEGIN IMMEDIATE … COMMIT (short: no I/O inside)
    ensure_schema(conn, "serve", [SQL_V1, SQL_V2])   # other modules add their own tables
    change_triggers("replicas")             # SQL making a table's writes bump data_version()
    Store()                                 # runs and events: insert/update/find/list/delete

Several processes write at once: every write is one short `BEGIN IMMEDIATE` transaction and
`busy_timeout` makes the others wait instead of failing with "database is locked". Rows come back
as plain dicts (JSON columns decoded); the engine turns them into `RunRecord`s. No pydantic here:
`vessl-tui ps` reads rows and prints.

Schema versions: the core tables follow `PRAGMA user_version`; a module's own tables follow its row
in `schema_versions` (`ensure_schema`). Migrations only ever append steps.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from _thread import _local as thread_local  # threading.local itself, without importing threading
from contextlib import contextmanager
from pathlib import Path

from core.paths import home_path, private_dir

TYPE_CHECKING = False  # typing stays out of `vessl-tui ps`
if TYPE_CHECKING:
    from typing import Any

BUSY_TIMEOUT_MS = 30_000

#: JSON-encoded columns of `runs`, with the value an absent one decodes to.
JSON_COLUMNS: dict[str, Any] = {"ports": [], "tags": [], "labels": {}, "handle": None, "resources": {}}


def change_triggers(table: str, columns: Sequence[str] | None = None) -> str:
    """SQL that bumps the change counter (see `Store.data_version`) on every insert and delete of
    `table`, and on updates that set any of `columns` (None: any update)."""
    update = "UPDATE" + (f" OF {', '.join(columns)}" if columns else "")
    return "".join(
        f"CREATE TRIGGER IF NOT EXISTS {table}_changed_{op.split()[0].lower()} AFTER {op} ON {table} "
        "BEGIN UPDATE changes SET version = version + 1 WHERE id = 1; END;\n"
        for op in ("INSERT", "DELETE", update)
    )


_RUN_COLUMNS = (
    "id", "name", "status", "cluster", "exit_code", "reason", "created_at", "started_at", "ended_at", "kind",
    "gpus", "attempt", "ports", "source_file", "preset", "tags", "labels", "handle", "supervisor_pid",
    "spec_json", "resources", "stop_requested", "stop_reason",
)

_RUNS_V1 = """
CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    cluster TEXT NOT NULL,
    exit_code INTEGER,
    reason TEXT,
    created_at REAL NOT NULL,
    started_at REAL,
    ended_at REAL,
    kind TEXT,
    gpus TEXT NOT NULL DEFAULT '-',
    attempt INTEGER NOT NULL DEFAULT 1,
    ports TEXT NOT NULL DEFAULT '[]',
    source_file TEXT,
    preset TEXT,
    tags TEXT NOT NULL DEFAULT '[]',
    labels TEXT NOT NULL DEFAULT '{}',
    handle TEXT,
    supervisor_pid INTEGER,
    heartbeat_at REAL,
    spec_json TEXT,
    resources TEXT NOT NULL DEFAULT '{}',
    stop_requested INTEGER NOT NULL DEFAULT 0,
    stop_reason TEXT
);
CREATE INDEX runs_by_created ON runs(created_at);
CREATE INDEX runs_by_name ON runs(name, created_at);
CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL,
    at REAL NOT NULL,
    kind TEXT NOT NULL,
    status TEXT,
    message TEXT
);
CREATE INDEX events_by_run ON events(run_id, id);
CREATE TABLE changes (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL);
INSERT INTO changes (id, version) VALUES (1, 0);
CREATE TABLE schema_versions (namespace TEXT PRIMARY KEY, version INTEGER NOT NULL);
"""

#: Core schema steps; step i brings `user_version` from i to i+1. Append only.
CORE_MIGRATIONS: list[str] = [
    _RUNS_V1
    + change_triggers("events")
    # a heartbeat alone is not a change (the TUI would redraw every few seconds for nothing)
    + change_triggers("runs", [c for c in _RUN_COLUMNS if c != "heartbeat_at"]),
]


def db_path(home: Path | None = None) -> Path:
    return (home or home_path()) / "state.db"


def connect(path: Path | None = None) -> sqlite3.Connection:
    """A new connection to the store (created and migrated on first use). Autocommit mode: writes
    go through `transaction()`."""
    path = path or db_path()
    if not path.exists():  # readable by its owner only; SQLite gives -wal and -shm the same mode
        private_dir(path.parent)
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    elif path.stat().st_mode & 0o077:  # a store made before: closed to others from now on
        for made in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            try:
                os.chmod(made, 0o600)
            except FileNotFoundError:
                pass
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    if conn.execute("PRAGMA user_version").fetchone()[0] < len(CORE_MIGRATIONS):
        _migrate_core(conn)
    return conn


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One short write transaction (`BEGIN IMMEDIATE`: takes the write lock up front, so a busy
    store makes us wait `busy_timeout` instead of failing mid-way)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _migrate_core(conn: sqlite3.Connection) -> None:
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
        try:  # needs the file to itself: two clients creating the store at once take turns
            conn.execute("PRAGMA journal_mode = WAL")
        except sqlite3.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    with transaction(conn):
        version = conn.execute("PRAGMA user_version").fetchone()[0]  # re-read under the lock
        for step in CORE_MIGRATIONS[version:]:
            for statement in _statements(step):
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {len(CORE_MIGRATIONS)}")


def ensure_schema(
    conn: sqlite3.Connection, namespace: str, steps: Sequence[str | Callable[[sqlite3.Connection], None]]
) -> None:
    """Bring `namespace`'s own tables up to `len(steps)`: runs the steps not yet applied (SQL text or
    a function of the connection), in one transaction. Safe to call from every process at start."""
    row = conn.execute("SELECT version FROM schema_versions WHERE namespace = ?", (namespace,)).fetchone()
    if row is not None and row[0] >= len(steps):
        return
    with transaction(conn):
        row = conn.execute("SELECT version FROM schema_versions WHERE namespace = ?", (namespace,)).fetchone()
        version = row[0] if row else 0
        for step in steps[version:]:
            if callable(step):
                step(conn)
            else:
                for statement in _statements(step):
                    conn.execute(statement)
        conn.execute(
            "INSERT INTO schema_versions (namespace, version) VALUES (?, ?) "
            "ON CONFLICT(namespace) DO UPDATE SET version = excluded.version",
            (namespace, len(steps)),
        )


def _statements(script: str) -> list[str]:
    """Split an SQL script into complete statements (trigger bodies kept whole)."""
    out: list[str] = []
    buffer = ""
    for part in script.split(";"):
        buffer += part + ";"
        if sqlite3.complete_statement(buffer):
            if buffer.strip(" \n;"):
                out.append(buffer.strip())
            buffer = ""
    return out


def _decode(row: sqlite3.Row) -> dict[str, Any]:
    import json  # imported here: rows of SUMMARY_COLUMNS (`vessl-tui ps`) hold no JSON

    data = dict(row)
    for column, empty in JSON_COLUMNS.items():
        if column in data:
            raw = data[column]
            data[column] = json.loads(raw) if raw else (empty.copy() if isinstance(empty, (list, dict)) else empty)
    return data


def _encode(fields: dict[str, Any]) -> dict[str, Any]:
    import json

    return {k: (json.dumps(v) if k in JSON_COLUMNS and v is not None else v) for k, v in fields.items()}


#: Columns a list of runs needs (the stored spec can be large: read it only for one run).
LIST_COLUMNS = (
    "id, name, status, cluster, exit_code, reason, created_at, started_at, ended_at, kind, gpus, attempt, "
    "ports, source_file, preset, tags, labels, handle, supervisor_pid, heartbeat_at, stop_requested"
)
#: Columns a one-line summary of a run needs (`vessl-tui ps`): no JSON ones, nothing to decode.
SUMMARY_COLUMNS = "id, name, status, cluster, exit_code, reason, created_at, ended_at, gpus, stop_requested"


class Store:
    """Runs and events. One connection per thread (the TUI calls from thread workers)."""

    def __init__(self, path: Path | None = None):
        self.path = path or db_path()
        self._local = thread_local()

    @property
    def conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = connect(self.path)
        return conn

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # --- runs ---------------------------------------------------------------------------------

    def insert_run(self, fields: dict[str, Any], event: str | None = None) -> None:
        data = _encode(fields)
        columns = ", ".join(data)
        marks = ", ".join("?" for _ in data)
        with transaction(self.conn) as conn:
            conn.execute(f"INSERT INTO runs ({columns}) VALUES ({marks})", tuple(data.values()))
            self._event(conn, fields["id"], "status", fields["status"], event)

    def update_run(self, run_id: str, *, event: str | None = None, only_if_active: bool = False, **fields: Any) -> bool:
        """Set columns of one run. A `status` change adds a status event (with `event` as message).
        `only_if_active`: leave a run alone whose status is already final. True when a row changed."""
        data = _encode(fields)
        sets = ", ".join(f"{k} = ?" for k in data)
        where = "id = ?" + (" AND status IN ('pending', 'provisioning', 'running')" if only_if_active else "")
        with transaction(self.conn) as conn:
            changed = conn.execute(f"UPDATE runs SET {sets} WHERE {where}", (*data.values(), run_id)).rowcount
            if changed and ("status" in fields or event):
                self._event(conn, run_id, "status" if "status" in fields else "note", fields.get("status"), event)
        return bool(changed)

    def heartbeat(self, run_id: str) -> None:
        with transaction(self.conn) as conn:
            conn.execute("UPDATE runs SET heartbeat_at = ? WHERE id = ?", (time.time(), run_id))

    def run(self, run_id: str, with_spec: bool = False) -> dict[str, Any] | None:
        columns = LIST_COLUMNS + (", spec_json, resources, stop_reason" if with_spec else "")
        row = self.conn.execute(f"SELECT {columns} FROM runs WHERE id = ?", (run_id,)).fetchone()
        return _decode(row) if row else None

    def find(self, ref: str) -> list[dict[str, Any]]:
        """Runs matching `ref`: the exact id, else ids starting with it, else the latest of that name."""
        exact = self.run(ref)
        if exact:
            return [exact]
        escaped = ref.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        rows = self.conn.execute(
            f"SELECT {LIST_COLUMNS} FROM runs WHERE id LIKE ? ESCAPE '\\' ORDER BY created_at DESC", (escaped + "%",)
        ).fetchall()
        if rows:
            return [_decode(r) for r in rows]
        rows = self.conn.execute(
            f"SELECT {LIST_COLUMNS} FROM runs WHERE name = ? ORDER BY created_at DESC LIMIT 1", (ref,)
        ).fetchall()
        return [_decode(r) for r in rows]

    def list_runs(
        self, include_finished: bool = True, limit: int | None = None, labels: dict[str, str] | None = None,
        columns: str = LIST_COLUMNS,
    ) -> list[dict[str, Any]]:
        where, args = [], []
        if not include_finished:
            where.append("status IN ('pending', 'provisioning', 'running')")
        for key, value in (labels or {}).items():
            where.append("json_extract(labels, ?) = ?")
            args += [f'$."{key}"', value]
        sql = f"SELECT {columns} FROM runs"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY created_at DESC, rowid DESC"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        rows = self.conn.execute(sql, args).fetchall()
        return [_decode(r) for r in rows] if columns != SUMMARY_COLUMNS else [dict(r) for r in rows]

    def active_runs(self) -> list[dict[str, Any]]:
        return self.list_runs(include_finished=False)

    def delete_run(self, run_id: str) -> None:
        with transaction(self.conn) as conn:
            conn.execute("DELETE FROM events WHERE run_id = ?", (run_id,))
            conn.execute("DELETE FROM runs WHERE id = ?", (run_id,))

    # --- events -------------------------------------------------------------------------------

    def add_event(self, run_id: str, kind: str, status: str | None = None, message: str | None = None) -> None:
        with transaction(self.conn) as conn:
            self._event(conn, run_id, kind, status, message)

    @staticmethod
    def _event(conn: sqlite3.Connection, run_id: str, kind: str, status: str | None, message: str | None) -> None:
        conn.execute(
            "INSERT INTO events (run_id, at, kind, status, message) VALUES (?, ?, ?, ?, ?)",
            (run_id, time.time(), kind, status, message),
        )

    def events(self, run_id: str) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT run_id, at, kind, status, message FROM events WHERE run_id = ? ORDER BY id", (run_id,)
        ).fetchall()
        return [dict(r) for r in rows]

    def data_version(self) -> int:
        """A number that changes whenever a run (other than its heartbeat) or an event changes."""
        return int(self.conn.execute("SELECT version FROM changes WHERE id = 1").fetchone()[0])
