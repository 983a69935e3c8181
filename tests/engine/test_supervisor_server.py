"""Supervisors forked by the supervisor server: the same runs, started without paying for imports."""

from __future__ import annotations

import os
import signal
import socket
import struct
from pathlib import Path

import pytest

from core import supervisor_server
from core.supervisor import supervisor_alive
from tests.engine.helpers import alive, spec, until


def server_pid(engine) -> int | None:
    """The pid of the supervisor server `engine` uses (from the socket's peer credentials), or None."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(supervisor_server.address(engine.supervisor_env()))
    except OSError:
        return None
    with sock:
        pid, _uid, _gid = struct.unpack("3i", sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))
    return pid


def served_run(engine, *commands: str, **fields):
    """Submit a run once the supervisor server listens (the first client starts it); the run's
    record and its supervisor's pid, a child forked by the server."""
    if server_pid(engine) is None:
        engine.wait(engine.submit_spec(spec("true")).id, timeout=60)
        until(lambda: server_pid(engine), what="the supervisor server")
    record = engine.submit_spec(spec(*commands, **fields))
    pid = until(lambda: engine.get(record.id).supervisor_pid, what="the supervisor")
    assert b"core.supervisor_server" in Path(f"/proc/{pid}/cmdline").read_bytes()
    return record, pid


pytestmark = pytest.mark.skipif(not supervisor_server.enabled(), reason="the supervisor server needs Linux")


def test_a_forked_supervisor_runs_with_the_submitting_clients_environment(engine, monkeypatch):
    monkeypatch.setenv("PROBE", "from the submitting client")
    record, pid = served_run(engine, "echo $PROBE; sleep 0.5", name="forked")
    assert os.getsid(pid) == pid  # detached: a session of its own, like any supervisor
    assert supervisor_alive(record.id, pid)
    final = engine.wait(record.id, timeout=60)
    assert (final.status, final.exit_code) == ("succeeded", 0)
    assert engine.read_log(record.id)[0] == b"from the submitting client\n"
    until(lambda: not supervisor_alive(record.id, pid), what="the supervisor to let go of the run")


def test_killing_the_server_loses_no_run(engine):
    record, _pid = served_run(engine, "sleep 1; echo done", name="outlives")
    server = server_pid(engine)
    assert server is not None
    os.kill(server, signal.SIGKILL)
    until(lambda: not alive(server), what="the server to die")
    final = engine.wait(record.id, timeout=60)
    assert (final.status, engine.read_log(record.id)[0]) == ("succeeded", b"done\n")
    after = engine.submit_spec(spec("echo next"))  # no server: the run starts the plain way
    assert engine.wait(after.id, timeout=60).status == "succeeded"
    assert engine.read_log(after.id)[0] == b"next\n"


def test_runs_start_without_the_server_when_it_is_turned_off(engine, monkeypatch):
    monkeypatch.setenv("VESSL_TUI_SUPERVISOR_SERVER", "0")
    record = engine.submit_spec(spec("echo plain; sleep 0.3"))
    pid = until(lambda: engine.get(record.id).supervisor_pid, what="the supervisor")
    assert b"core.supervisor\x00" in Path(f"/proc/{pid}/cmdline").read_bytes()
    assert engine.wait(record.id, timeout=60).status == "succeeded"
    assert engine.read_log(record.id)[0] == b"plain\n"


def test_a_killed_supervisor_lets_go_of_its_run(engine):
    record, pid = served_run(engine, "sleep 30", name="held", stop_duration=1)
    until(lambda: engine.get(record.id).handle, what="the work to start")
    assert supervisor_alive(record.id, pid)
    os.kill(pid, signal.SIGKILL)
    until(lambda: not supervisor_alive(record.id, pid), what="the lock to be dropped")
    engine.stop(record.id)  # reconciles: a new supervisor takes over and stops the run
    assert engine.wait(record.id, timeout=60).status == "stopped"


def test_a_changed_source_file_makes_the_server_stale(tmp_path):
    source = tmp_path / "module.py"
    source.write_text("x = 1\n")
    st = source.stat()
    signatures = {str(source): (st.st_mtime_ns, st.st_size)}
    assert not supervisor_server._changed(signatures)
    source.write_text("x = 22\n")
    assert supervisor_server._changed(signatures)
    source.unlink()
    assert supervisor_server._changed(signatures)


def test_a_plain_supervisor_starts_the_server_once_its_work_runs(engine, monkeypatch, tmp_path):
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))  # a server address of this test's own: none listens
    assert server_pid(engine) is None
    record = engine.submit_spec(spec("echo started; sleep 0.5"))
    pid = until(lambda: engine.get(record.id).supervisor_pid, what="the supervisor")
    assert b"core.supervisor\x00" in Path(f"/proc/{pid}/cmdline").read_bytes()
    server = until(lambda: server_pid(engine), what="the server started by that supervisor")
    try:
        assert engine.wait(record.id, timeout=60).status == "succeeded"
        assert engine.read_log(record.id)[0] == b"started\n"
        assert served_run(engine, "echo served; sleep 0.5")[1] != pid
    finally:
        os.kill(server, signal.SIGTERM)
