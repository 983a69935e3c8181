"""Runs on a Docker cluster end to end: the engine, its detached supervisor, the CLI, a real engine."""

from __future__ import annotations

import os
import pty
import select
import signal
import sys
import time
from pathlib import Path

import docker
import pytest

from core.engine import Engine
from tests.conftest import REPO
from tests.support import cli, until as wait_for

pytestmark = pytest.mark.docker


@pytest.fixture
def cluster(dockerd: str, config_file: Path) -> str:
    """A config whose cluster `dk` is the test engine."""
    config_file.write_text(f"clusters:\n  dk: {{kind: docker, host: '{dockerd}'}}\n")
    return "dk"


def write_spec(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    return path






def labelled(dockerd: str, run_id: str) -> tuple[list, list]:
    client = docker.DockerClient(base_url=dockerd)
    try:
        label = {"label": f"vessl-tui.run={run_id}"}
        return client.containers.list(all=True, filters=label), client.volumes.list(filters=label)
    finally:
        client.close()


def test_cli_run_follow_prints_the_output_and_exits_with_the_run_code(cluster, tmp_path):
    spec = write_spec(tmp_path, "type: task\nname: follow\nimage: test/busybox\ncommands:\n  - echo hello\n  - exit 3\n")
    done = cli("run", str(spec), "--cluster", cluster, "--follow")
    assert done.returncode == 3, done.stderr
    assert "hello\n" in done.stdout
    (record,) = Engine().list_runs(include_finished=True)
    assert (record.status, record.exit_code, record.cluster) == ("failed", 3, "dk")


def test_killing_the_supervisor_mid_run_loses_no_log_line(cluster, tmp_path):
    spec = write_spec(tmp_path, """
type: task
name: survivor
image: test/busybox
commands:
  - for i in $(seq 1 60); do echo line $i; sleep 0.05; done
""")
    engine = Engine()
    record = engine.submit(spec, cluster=cluster)
    wait_for(lambda: b"line 5\n" in engine.read_log(record.id, 0)[0], what="the first lines")
    pid = engine.get(record.id).supervisor_pid
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: engine.reconcile() or engine.get(record.id).supervisor_pid != pid, what="a new supervisor")
    final = engine.wait(record.id, timeout=120)
    log = engine.read_log(record.id, 0)[0].decode()
    assert (final.status, final.exit_code) == ("succeeded", 0)
    assert log == "".join(f"line {i}\n" for i in range(1, 61))


def test_stop_gives_the_grace_and_rm_removes_containers_and_run_volumes(cluster, dockerd, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "f").write_text("x")
    spec = write_spec(tmp_path, f"""
name: stoppable
image: test/busybox
import:
  /data: file://{data}
run:
  - command: trap 'echo caught TERM; exit 0' TERM; echo ready; while true; do sleep 0.1; done
""")
    engine = Engine()
    record = engine.submit(spec, cluster=cluster)
    wait_for(lambda: b"ready\n" in engine.read_log(record.id, 0)[0], what="the run to start")
    engine.stop(record.id)
    final = engine.wait(record.id, timeout=60)
    assert final.status == "stopped"
    assert engine.read_log(record.id, 0)[0] == b"ready\ncaught TERM\n"
    containers, volumes = labelled(dockerd, record.id)
    assert len(containers) == 1 and len(volumes) == 1
    engine.remove(record.id)
    assert labelled(dockerd, record.id) == ([], [])


def test_an_out_of_memory_run_fails_with_oomkilled(cluster, tmp_path):
    spec = write_spec(tmp_path, """
type: task
name: hungry
image: test/busybox
resources: {memory: 0.03GB}
commands: [head -c 200m /dev/zero | tail]
""")
    engine = Engine()
    final = engine.wait(engine.submit(spec, cluster=cluster).id, timeout=120)
    assert (final.status, final.reason) == ("failed", "OOMKilled")


def test_a_missing_image_fails_the_run_with_one_sentence(cluster, tmp_path):
    spec = write_spec(tmp_path, "type: task\nname: noimage\nimage: test/absent\ncommands: [true]\n")
    engine = Engine()
    final = engine.wait(engine.submit(spec, cluster=cluster).id, timeout=60)
    assert final.status == "failed"
    assert final.reason.startswith("image test/absent not found locally and could not be pulled: ")
    assert "\n" not in final.reason


def test_shell_opens_an_interactive_shell_inside_the_container(cluster, tmp_path):
    spec = write_spec(tmp_path, "type: task\nname: shelly\nimage: test/busybox\ncommands: [sleep 120]\n")
    engine = Engine()
    record = engine.submit(spec, cluster=cluster)
    wait_for(lambda: engine.get(record.id).status == "running", what="the run to start")
    pid, fd = pty.fork()
    if pid == 0:  # the child: the CLI on a terminal, as a user would run it
        os.chdir(REPO)
        os.execv(sys.executable, [sys.executable, "-m", "core.cli.main", "shell", record.id])
    try:
        os.write(fd, b"echo in-$(hostname -s >/dev/null; echo container) $((6*7)) id=$VESSL_TUI_RUN_ID; exit 5\n")
        seen = b""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and f"in-container 42 id={record.id}".encode() not in seen:
            if select.select([fd], [], [], 1)[0]:
                try:
                    seen += os.read(fd, 4096)
                except OSError:
                    break
        _, status = os.waitpid(pid, 0)
    finally:
        os.close(fd)
        engine.stop(record.id)
    assert f"in-container 42 id={record.id}".encode() in seen  # the shell has the run's id
    assert os.waitstatus_to_exitcode(status) == 5


def test_shell_on_a_finished_run_is_one_sentence(cluster, tmp_path):
    spec = write_spec(tmp_path, "type: task\nname: done\nimage: test/busybox\ncommands: [true]\n")
    engine = Engine()
    record = engine.wait(engine.submit(spec, cluster=cluster).id, timeout=60)
    done = cli("shell", record.id)
    assert done.returncode == 1
    assert done.stderr == f"error: run {record.id} has ended (succeeded): a shell needs a running run.\n"


def test_a_dev_environment_stays_up_in_its_container_until_stopped(cluster, tmp_path):
    spec = write_spec(tmp_path, "type: dev-environment\nname: devbox\nimage: test/busybox\nide: vscode\n")
    engine = Engine()
    record = engine.submit(spec, cluster=cluster)
    wait_for(lambda: engine.get(record.id).status == "running", what="the environment to start")
    time.sleep(2)
    assert engine.get(record.id).status == "running"  # nothing to run, and still up
    engine.stop(record.id)
    assert engine.wait(record.id, timeout=60).status == "stopped"


def test_jupyter_in_a_container_gets_the_runs_token_and_a_tunnel_url(dockerd, config_file, tmp_path):
    """Jupyter (a stand-in of busybox httpd that serves a file named after $JUPYTER_TOKEN, so only
    the run's token finds it) starts in the container; the token is not in its configuration."""
    import urllib.error
    import urllib.request

    from core.jupyter import jupyter_token
    from core.tunnels import TunnelManager
    from tests.fixtures.sshd import free_port

    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "jupyter").write_text('#!/bin/sh\nfor a in "$@"; do case $a in --port=*) port=${a#--port=};; esac; done\n'
                                  'mkdir -p /www && echo notebook > "/www/$JUPYTER_TOKEN"\n'
                                  'exec httpd -f -p "127.0.0.1:$port" -h /www\n')
    (shim / "jupyter").chmod(0o755)
    port = free_port()
    config_file.write_text(f"clusters:\n  dk: {{kind: docker, host: '{dockerd}', options: {{network: host, "
                           f"jupyter_port: {port}, jupyter_command: /shim/jupyter}}}}\n")
    spec = write_spec(tmp_path, f"name: nb\nimage: test/busybox\nresources:\n  cluster: dk\nimport:\n  /shim/: file://{shim}\n"
                                "interactive:\n  max_runtime: 1h\n  jupyter:\n    idle_timeout: 30m\nrun: []\n")
    engine = Engine()
    record = engine.submit(spec, cluster="dk")
    tunnels = TunnelManager()
    try:
        wait_for(lambda: engine.get(record.id).status == "running", what="the notebook's run to start")
        assert engine.get(record.id).handle["jupyter_port"] == port
        token = jupyter_token(record.id)
        url = tunnels.open_for_run(engine, record.id, port).url
        assert url.endswith(f"/?token={token}")

        def answer(path: str):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/{path}", timeout=2) as response:
                    return response.status
            except urllib.error.HTTPError as exc:
                return exc.code
            except OSError:
                return None

        assert wait_for(lambda: answer(token) == 200, what="the notebook to answer with the run's token")
        assert answer("not-the-token") == 404
        info = docker.DockerClient(base_url=dockerd).api.inspect_container(engine.get(record.id).handle["container_id"])
        assert token not in str(info["Config"])  # neither env nor command
    finally:
        tunnels.close_all()
        engine.stop(record.id)
        engine.wait(record.id, timeout=60)
