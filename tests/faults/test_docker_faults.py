"""Docker faults: the engine killed and started again mid-run (the run goes on, every line kept),
and the secrets grep of `docker inspect` (a secret in any YAML style never shows in the
container's configuration, and the run still gets it as written)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from core.engine import Engine
from tests.fixtures.dockerd import build_busybox_image, dockerd, start_dockerd, stop_dockerd  # noqa: F401
from tests.support import until

pytestmark = pytest.mark.docker

# style -> (the YAML of `value:`, the value it means); every value holds a marker QX…Z to grep for
SECRET_STYLES = {
    "plain": ("plainQXdk1Z-1f2e", "plainQXdk1Z-1f2e"),
    "single": ("'it''s-QXdk2Z'", "it's-QXdk2Z"),
    "double": ('"dq\\"QXdk3Z\\\\x\\t"', 'dq"QXdk3Z\\x\t'),
    "block": ("|\n      QXdk4Z-aaaa\n      QXdk5Z-bbbb\n", "QXdk4Z-aaaa\nQXdk5Z-bbbb\n"),
}
MARKERS = ["QXdk1Z", "QXdk2Z", "QXdk3Z", "QXdk4Z", "QXdk5Z"]


def docker_cluster(config_file: Path, url: str, name: str = "dk") -> str:
    config_file.write_text(f"clusters:\n  {name}: {{kind: docker, host: '{url}'}}\n")
    return name


def secret_spec(command: str) -> str:
    env = "".join(f"  S_{s.upper()}:\n    value: {yaml}\n    secret: true\n" if not yaml.startswith("|") else
                  f"  S_{s.upper()}:\n    value: {yaml}    secret: true\n" for s, (yaml, _) in SECRET_STYLES.items())
    return f"name: secretive\nimage: test/busybox\nenv:\n{env}run:\n  - command: |\n      {command}\n"


def test_secrets_never_show_in_docker_inspect(dockerd, config_file, tmp_path, fault):  # noqa: F811
    report = fault("secrets grep (docker inspect)")
    cluster = docker_cluster(config_file, dockerd)
    together = "".join(f"${{S_{s.upper()}}}" for s in SECRET_STYLES)
    want = hashlib.sha256("".join(v for _, v in SECRET_STYLES.values()).encode()).hexdigest()
    check = f'[ "$(printf %s "{together}" | sha256sum | cut -c1-64)" = {want} ] && echo values-ok; sleep 1'
    spec = tmp_path / "secretive.yaml"
    spec.write_text(secret_spec(check))
    engine = Engine()
    client = docker.DockerClient(base_url=dockerd)
    try:
        record = engine.submit(spec, cluster=cluster)
        label = {"label": f"vessl-tui.run={record.id}"}
        (container,) = until(lambda: client.containers.list(all=True, filters=label), timeout=60,
                             what="the run's container")
        seen = {"running": json.dumps(client.api.inspect_container(container.id))}
        final = engine.wait(record.id, timeout=60)
        seen["ended"] = json.dumps(client.api.inspect_container(container.id))
        seen["changes"] = json.dumps(client.api.diff(container.id))
        report.tried += 1
        for when, text in seen.items():
            found = [m for m in MARKERS if m in text]
            if found:
                report.failed += 1
                report.notes.append(f"{', '.join(found)} in docker inspect/diff ({when})")
        if (final.status, engine.read_log(record.id, 0)[0]) != ("succeeded", b"values-ok\n"):
            report.failed += 1
            report.notes.append(f"the run did not get its secrets: {final.status} {final.reason}")
        report.check_text(engine.read_log(record.id, 0, provisioning=True)[0], "the provisioning log")
    finally:
        client.close()
    report.assert_clean()


class RestartableEngine:
    """A private dockerd whose process can be killed (-9) and started again on the same folder."""

    def __init__(self, extra_args: tuple[str, ...]):
        self.root = Path(tempfile.mkdtemp(prefix="vt-dockerd-", dir="/tmp"))
        self.extra_args = extra_args
        self.proc, self.url = start_dockerd(self.root, extra_args=extra_args)

    def kill(self) -> None:
        """SIGKILL dockerd; its containerd follows it (dockerd asks the kernel for that), and the
        next start begins once that one is gone, as after a crash of the service."""
        containerd = int((self.root / "exec" / "containerd" / "containerd.pid").read_text())
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)
        until(lambda: not Path(f"/proc/{containerd}").exists(), timeout=30, what="containerd to exit")

    def start(self) -> None:
        self.proc, _ = start_dockerd(self.root, extra_args=self.extra_args)


@contextlib.contextmanager
def restartable_engine(*extra_args: str) -> Iterator[RestartableEngine]:
    engine = RestartableEngine(extra_args)
    try:
        build_busybox_image(engine.url)
        yield engine
    finally:
        stop_dockerd(engine.proc, engine.url, engine.root)


LINES = 400
COUNTING = f"for i in $(seq 1 {LINES}); do echo line $i; sleep 0.01; done"


@pytest.mark.parametrize("live_restore,supervisor_too", [(False, False), (True, False), (True, True)],
                         ids=["plain", "live-restore", "live-restore, supervisor killed too"])
def test_dockerd_killed_and_started_again_mid_run_loses_no_line(live_restore, supervisor_too, config_file, tmp_path,
                                                                fault):
    how = ("--live-restore" if live_restore else "plain") + (", supervisor killed too" if supervisor_too else "")
    report = fault(f"dockerd killed and restarted mid-run ({how})")
    with restartable_engine(*(["--live-restore"] if live_restore else [])) as dockerd_:
        cluster = docker_cluster(config_file, dockerd_.url)
        spec = tmp_path / "count.yaml"
        spec.write_text(f"type: task\nname: count\nimage: test/busybox\ncommands:\n  - {COUNTING}\n")
        engine = Engine()
        record = engine.submit(spec, cluster=cluster)
        until(lambda: b"line 20\n" in engine.read_log(record.id, 0)[0], timeout=60, what="the first lines")
        dockerd_.kill()
        if supervisor_too:  # a new supervisor takes over while the engine is away, and waits for it
            pid = engine.get(record.id).supervisor_pid
            os.kill(pid, signal.SIGKILL)
            until(lambda: engine.reconcile() or engine.get(record.id).supervisor_pid not in (pid, None),
                  timeout=30, what="a new supervisor")
        time.sleep(1.0)
        dockerd_.start()
        final = engine.wait(record.id, timeout=120)
        report.tried += 1
        log = engine.read_log(record.id, 0)[0].decode()
        provisioning = engine.read_log(record.id, 0, provisioning=True)[0].decode()
        client = docker.DockerClient(base_url=dockerd_.url)
        try:
            (container,) = client.containers.list(all=True, filters={"label": f"vessl-tui.run={record.id}"})
            held = container.logs().decode()  # every line Docker holds
            state = container.attrs["State"]
        finally:
            client.close()
        numbers = [int(line.split()[1]) for line in log.splitlines()]
        held_numbers = {int(line.split()[1]) for line in held.splitlines()}
        # lost by us: a line Docker holds that the run's log lacks, or one the log has twice
        report.lost += len(held_numbers - set(numbers)) + len(numbers) - len(set(numbers))
        dropped = set(range(1, max(held_numbers, default=0) + 1)) - held_numbers
        if dropped:  # dockerd killed -9 between reading a line from the container and storing it
            report.notes.append(f"Docker itself never stored line(s) {sorted(dropped)}: read by the killed dockerd")
        if log != held:
            report.notes.append(f"the run's log ({len(numbers)} lines) is not what Docker holds "
                                f"({len(held.splitlines())} lines)")
            report.lost += 0 if report.lost else 1
        want = ("succeeded" if state["ExitCode"] == 0 else "failed", state["ExitCode"])
        if (final.status, final.exit_code) != want:
            report.failed += 1
            report.notes.append(f"run {final.status} ({final.exit_code}, {final.reason}), container exited {want[1]}")
        if live_restore and (final.status, max(numbers, default=0)) != ("succeeded", LINES):
            report.failed += 1
            report.notes.append(f"with --live-restore the run must go on: {final.status}, last line {max(numbers)}")
        if "stopped answering" not in provisioning:
            report.notes.append("the provisioning log does not say the engine went away")
            report.failed += 1
        report.check_text(provisioning, "the provisioning log")
    report.assert_clean()


def test_stop_while_dockerd_is_down_ends_the_run_lost_after_the_grace(config_file, tmp_path, fault):
    report = fault("stop while dockerd is down")
    with restartable_engine() as dockerd_:
        cluster = docker_cluster(config_file, dockerd_.url)
        spec = tmp_path / "waits.yaml"
        spec.write_text("type: task\nname: waits\nimage: test/busybox\nstop_duration: 2s\n"
                        "commands: [echo up, sleep 60]\n")
        engine = Engine()
        record = engine.submit(spec, cluster=cluster)
        until(lambda: engine.read_log(record.id, 0)[0] == b"up\n", timeout=60, what="the container to run")
        dockerd_.kill()
        engine.stop(record.id)
        final = engine.wait(record.id, timeout=60)
        report.tried += 1
        if final.status != "lost" or "asked to stop" not in (final.reason or ""):
            report.failed += 1
            report.notes.append(f"run {final.status}: {final.reason}")
        report.check_text(engine.read_log(record.id, 0, provisioning=True)[0], "the provisioning log")
        dockerd_.start()  # so that its containers are removed on the way out
    report.assert_clean()
