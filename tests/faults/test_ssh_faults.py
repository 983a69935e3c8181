"""SSH faults against real sshd processes of their own: sshd killed and started again mid-run (the
run goes on, every line kept), the host key changed mid-run (the run fails with the host-key
sentence), a host without an SFTP subsystem (the run goes over exec channels), and `stop` on a run
whose host went away (the run ends lost after the grace instead of waiting forever)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from core import sshconn
from core.engine import Engine
from tests.fixtures.sshd import SSHD, Sshd, keygen, running_sshd
from tests.support import until, wait_port

LINES = 300
COUNTING = f"for i in $(seq 1 {LINES}); do echo line $i; sleep 0.01; done"


class Host:
    """A private sshd whose server can be killed (with every connection) and started again."""

    def __init__(self, server: Sshd):
        self.server = server

    def kill(self) -> None:
        self.server.kill_connections()
        os.kill(self.server.pid, signal.SIGKILL)
        until(lambda: not Path(f"/proc/{self.server.pid}").exists() or "Z" in
              Path(f"/proc/{self.server.pid}/stat").read_text().rsplit(")", 1)[1].split()[:1], timeout=10,
              what="sshd to die")

    def start(self, new_host_key: bool = False) -> None:
        if new_host_key:
            self.server.host_key.unlink()
            Path(f"{self.server.host_key}.pub").unlink()
            keygen(self.server.host_key)
        proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(self.server.folder / "sshd_config")],
                                stderr=subprocess.DEVNULL)
        self.server.pid = proc.pid
        wait_port(self.server.port)


@pytest.fixture
def host() -> Iterator[Host]:
    with running_sshd() as server:
        box = Host(server)
        try:
            yield box
        finally:
            server.kill_connections()
            if Path(f"/proc/{server.pid}").exists():
                os.kill(server.pid, signal.SIGKILL)


def ssh_cluster(config_file: Path, server: Sshd, name: str = "box") -> str:
    config_file.write_text(json.dumps({"clusters": {name: server.cluster()}}))
    return name


def submit(tmp_path: Path, cluster: str, commands: str, extra: str = "") -> tuple[Engine, str]:
    spec = tmp_path / "spec.dstack.yml"
    spec.write_text(f"type: task\nname: remote\ncommands:\n  - {commands}\n{extra}")
    engine = Engine()
    return engine, engine.submit(spec, cluster=cluster).id


def check_end(report, engine: Engine, run_id: str, status: str, words: str) -> None:
    """Count the run as tried; failed unless it ended `status` with `words` in its reason."""
    final = engine.wait(run_id, timeout=60)
    report.tried += 1
    if final.status != status or words not in (final.reason or ""):
        report.failed += 1
        report.notes.append(f"run {final.status}: {final.reason}")
    report.check_text(engine.read_log(run_id, 0, provisioning=True)[0], "the provisioning log")


def check_lines(report, log: str, count: int) -> None:
    numbers = [int(line.split()[1]) for line in log.splitlines() if line.startswith("line ")]
    report.lost += len(set(range(1, count + 1)) - set(numbers)) + len(numbers) - len(set(numbers))


def test_sshd_killed_and_started_again_mid_run_loses_no_line(host, config_file, tmp_path, fault):
    report = fault("sshd killed and restarted mid-run")
    engine, run_id = submit(tmp_path, ssh_cluster(config_file, host.server), COUNTING)
    until(lambda: b"line 20\n" in engine.read_log(run_id, 0)[0], timeout=60, what="the first lines")
    host.kill()
    host.start()
    final = engine.wait(run_id, timeout=120)
    report.tried += 1
    check_lines(report, engine.read_log(run_id, 0)[0].decode(), LINES)
    if (final.status, final.exit_code) != ("succeeded", 0):
        report.failed += 1
        report.notes.append(f"run {final.status}: {final.reason}")
    report.check_text(engine.read_log(run_id, 0, provisioning=True)[0], "the provisioning log")
    report.assert_clean()


def test_a_host_key_changed_mid_run_fails_the_run_with_the_sentence(host, config_file, tmp_path, fault):
    report = fault("host key changed mid-run")
    engine, run_id = submit(tmp_path, ssh_cluster(config_file, host.server), "echo started; sleep 8")
    until(lambda: b"started\n" in engine.read_log(run_id, 0)[0], timeout=60, what="the run to start")
    host.kill()
    host.start(new_host_key=True)
    check_end(report, engine, run_id, "failed", "has changed")
    report.assert_clean()


def test_a_host_without_sftp_runs_over_exec_channels(config_file, tmp_path, fault):
    report = fault("host without an SFTP subsystem")
    data, exported, remote = tmp_path / "data", tmp_path / "exported", tmp_path / "remote"
    (data / "sub").mkdir(parents=True)
    (data / "sub" / "in.txt").write_text("imported\n")
    spec = tmp_path / "nosftp.yaml"
    spec.write_text(f"""
name: nosftp
import:
  {remote}/in: file://{data}
export:
  {remote}/out: hostpath://{exported}
run:
  - command: cat {remote}/in/sub/in.txt; {COUNTING}; echo kept > {remote}/out/k.txt
""")
    with running_sshd(sftp=False) as server:
        engine = Engine()
        run_id = engine.submit(spec, cluster=ssh_cluster(config_file, server)).id
        final = engine.wait(run_id, timeout=120)
        sshconn.close_all()
    report.tried += 1
    log = engine.read_log(run_id, 0)[0].decode()
    provisioning = engine.read_log(run_id, 0, provisioning=True)[0].decode()
    check_lines(report, log, LINES)
    if (final.status, log.splitlines()[:1]) != ("succeeded", ["imported"]):
        report.failed += 1
        report.notes.append(f"run {final.status}: {final.reason}; log starts {log[:40]!r}")
    if not (exported / "k.txt").is_file() or (exported / "k.txt").read_text() != "kept\n":
        report.lost += 1
        report.notes.append(f"the export did not come back: {sorted(p.name for p in exported.rglob('*'))}")
    if "no SFTP subsystem" not in provisioning:
        report.failed += 1
        report.notes.append("the provisioning log does not say the host has no SFTP")
    report.check_text(provisioning, "the provisioning log")
    report.assert_clean()


def test_stop_on_a_run_whose_host_went_away_ends_it_lost_after_the_grace(host, config_file, tmp_path, fault):
    report = fault("stop on an unreachable host")
    engine, run_id = submit(tmp_path, ssh_cluster(config_file, host.server), "echo started; sleep 60",
                            extra="stop_duration: 2s\n")
    until(lambda: b"started\n" in engine.read_log(run_id, 0)[0], timeout=60, what="the run to start")
    host.kill()
    engine.stop(run_id)
    check_end(report, engine, run_id, "lost", "asked to stop")
    host.start()  # the host is back: its processes are stopped and its folder removed
    engine.remove(run_id, force=True)
    report.assert_clean()
