"""The store on disk: WAL, migrations, module schemas, change counter, log cursor reads."""

from __future__ import annotations

import sqlite3

from core import logs
from core.store import Store, change_triggers, connect, db_path, ensure_schema


def test_store_is_wal_and_versioned(vessl_home):
    conn = connect()
    assert db_path() == vessl_home / "state.db"
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] >= 1
    assert connect().execute("SELECT count(*) FROM runs").fetchone()[0] == 0  # a second open migrates nothing


def test_module_schemas_apply_each_step_once(vessl_home):
    conn = connect()
    steps = ["CREATE TABLE replicas (id TEXT PRIMARY KEY, state TEXT);\n" + change_triggers("replicas")]
    ensure_schema(conn, "serve-test", steps)
    ensure_schema(conn, "serve-test", steps)  # already there: nothing runs twice
    steps.append(lambda c: c.execute("ALTER TABLE replicas ADD COLUMN port INTEGER"))
    ensure_schema(conn, "serve-test", steps)
    store = Store()
    before = store.data_version()
    conn.execute("INSERT INTO replicas (id, state, port) VALUES ('r1', 'up', 8000)")
    assert store.data_version() == before + 1


def test_data_version_changes_on_runs_and_events_but_not_heartbeats(vessl_home):
    store = Store()
    start = store.data_version()
    store.insert_run({"id": "r1", "name": "n", "status": "pending", "cluster": "local", "created_at": 1.0})
    after_insert = store.data_version()
    assert after_insert > start
    store.heartbeat("r1")
    assert store.data_version() == after_insert
    store.update_run("r1", status="running")
    assert store.data_version() > after_insert
    other = Store()  # another client sees the same counter
    assert other.data_version() == store.data_version()


def test_find_by_id_prefix_and_name(vessl_home):
    store = Store()
    for run_id, name, at in (("abc111", "train", 1.0), ("abc222", "train", 2.0), ("def333", "eval", 3.0)):
        store.insert_run({"id": run_id, "name": name, "status": "succeeded", "cluster": "local", "created_at": at})
    assert [r["id"] for r in store.find("def")] == ["def333"]
    assert len(store.find("abc")) == 2
    assert [r["id"] for r in store.find("train")] == ["abc222"]
    assert store.find("zzz") == []
    assert [r["id"] for r in store.list_runs()] == ["def333", "abc222", "abc111"]


def test_log_reads_by_offset(tmp_path):
    path = tmp_path / "out.log"
    assert logs.read(path, 0) == (b"", 0)
    path.write_bytes(b"one\ntwo\n")
    chunk, nxt = logs.read(path, 0, limit=4)
    assert (chunk, nxt) == (b"one\n", 4)
    assert logs.read(path, nxt) == (b"two\n", 8)
    assert b"".join(logs.follow(path, 0, done=lambda: True)) == b"one\ntwo\n"


def test_busy_store_waits_instead_of_failing(vessl_home):
    store = Store()
    store.data_version()  # the store exists; now another process holds the write lock
    blocker = sqlite3.connect(db_path(), isolation_level=None, check_same_thread=False)
    blocker.execute("BEGIN IMMEDIATE")
    import threading

    threading.Timer(0.3, lambda: blocker.execute("COMMIT")).start()
    store.insert_run({"id": "r1", "name": "n", "status": "pending", "cluster": "local", "created_at": 1.0})
    assert store.run("r1")["status"] == "pending"


def test_the_store_is_readable_by_its_owner_only_even_one_made_before(vessl_home):
    import stat

    from core.store import Store, db_path

    Store().list_runs()
    assert stat.S_IMODE(db_path().stat().st_mode) == 0o600
    for name in ("state.db", "state.db-wal", "state.db-shm"):
        path = vessl_home / name
        if path.exists():
            path.chmod(0o644)
    Store().list_runs()
    for name in ("state.db", "state.db-wal", "state.db-shm"):
        path = vessl_home / name
        assert not path.exists() or stat.S_IMODE(path.stat().st_mode) == 0o600, name
