"""Runs on an SSH host share one warm login (an OpenSSH master), stream their log and metrics on
the sessions that launched them, and still start, stream and end when that master is gone."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from core import sshconn, sshmux
from core.engine import Engine
from tests.fixtures.sshd import running_sshd

pytestmark = pytest.mark.skipif(not sshmux.enabled(), reason="the warm connection needs an OpenSSH client (ssh)")

REPORT = ("python3 -c \"import json, os; f = open(os.environ['VESSL_TUI_METRICS'], 'a'); "
          "[f.write(json.dumps({'step': s, 'loss': 1.0 / (s + 1)}) + '\\n') for s in range(3)]\"")


def logins(server) -> int:
    return (server.folder / "sshd.log").read_text().count("Accepted publickey")


def submit_and_wait(engine: Engine, tmp_path: Path, name: str, command: str) -> str:
    spec = tmp_path / f"{name}.yaml"
    spec.write_text(f"type: task\nname: {name}\ncommands:\n  - {json.dumps(command)}\n")
    record = engine.submit(spec, cluster="box")
    final = engine.wait(record.id, timeout=120)
    assert (final.status, final.exit_code) == ("succeeded", 0), final.reason
    return record.id


def test_runs_on_one_host_log_in_once_and_keep_every_line_and_point(config_file, tmp_path) -> None:
    with running_sshd(log_level="VERBOSE") as server:
        config_file.write_text(json.dumps({"clusters": {"box": server.cluster("box")}}))
        engine = Engine()
        try:
            ids = [submit_and_wait(engine, tmp_path, f"r{i}", f"seq 1 200; {REPORT}") for i in range(3)]
            assert logins(server) == 1  # the master, made by the first submit's reach check
            for run_id in ids:
                assert engine.read_log(run_id)[0] == "".join(f"{i}\n" for i in range(1, 201)).encode()
                assert [v for name, _, v in engine.metric_points(run_id) if name == "loss"] == [1.0, 0.5, 1.0 / 3]
        finally:
            sshconn.close_all()


def test_a_run_starts_and_ends_when_the_master_was_killed(config_file, tmp_path) -> None:
    with running_sshd(log_level="VERBOSE") as server:
        config_file.write_text(json.dumps({"clusters": {"box": server.cluster("box")}}))
        engine = Engine()
        try:
            submit_and_wait(engine, tmp_path, "first", "echo one")
            target = sshconn.resolve_target(engine.config.cluster("box"))
            master = subprocess.run(["ssh", "-o", f"ControlPath={sshmux.control_path(target)}", "-O", "check", "x"],
                                    capture_output=True, text=True).stderr
            pid = int(master.split("pid=")[1].split(")")[0])
            os.kill(pid, 9)  # the socket file stays behind: a launch through it fails, paramiko takes over
            run_id = submit_and_wait(engine, tmp_path, "second", "seq 1 50")
            assert engine.read_log(run_id)[0] == "".join(f"{i}\n" for i in range(1, 51)).encode()
        finally:
            sshconn.close_all()


def test_without_an_openssh_client_runs_go_over_paramiko(config_file, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("VESSL_TUI_SSH_MUX", "0")
    with running_sshd() as server:
        config_file.write_text(json.dumps({"clusters": {"box": server.cluster("box")}}))
        engine = Engine()
        try:
            run_id = submit_and_wait(engine, tmp_path, "plain", f"seq 1 100; {REPORT}")
            assert engine.read_log(run_id)[0] == "".join(f"{i}\n" for i in range(1, 101)).encode()
            assert [v for name, _, v in engine.metric_points(run_id) if name == "loss"] == [1.0, 0.5, 1.0 / 3]
        finally:
            sshconn.close_all()
