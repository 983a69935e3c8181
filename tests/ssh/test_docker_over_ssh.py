"""Docker over ssh:// to a real sshd: the engine is reached through the cluster's own SSH settings
(identity_file, known_hosts), every log line arrives, and a refused host is one sentence."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from core.backends import backend_for
from core.config import ClusterConfig
from core.engine import Engine
from tests.fixtures.dockerd import dockerd  # noqa: F401  (the engine the host's docker CLI reaches)
from tests.fixtures.sshd import Sshd, keygen, running_sshd
from tests.support import cli, until

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def docker_host(dockerd: str) -> Iterator[Sshd]:  # noqa: F811
    """An SSH host whose docker CLI reaches the test engine (as its default engine would be)."""
    with running_sshd(extra_config=(f"SetEnv DOCKER_HOST={dockerd}",)) as server:
        yield server


def docker_cluster(server: Sshd, **extra) -> dict:
    fields = {"kind": "docker", "host": f"ssh://{server.user}@{server.host}:{server.port}",
              "identity_file": str(server.key), "known_hosts": str(server.known_hosts)}
    fields.update(extra)
    return fields


def write_config(config_file: Path, clusters: dict) -> None:
    import json

    config_file.write_text(json.dumps({"clusters": clusters}))


def test_a_run_over_ssh_keeps_every_line_with_the_clusters_own_key(docker_host, config_file, tmp_path):
    write_config(config_file, {"remote": docker_cluster(docker_host)})
    spec = tmp_path / "count.yaml"
    spec.write_text("type: task\nname: count\nimage: test/busybox\ncommands:\n"
                    "  - for i in $(seq 1 300); do echo line $i; done\n")
    engine = Engine()
    record = engine.submit(spec, cluster="remote")
    final = engine.wait(record.id, timeout=120)
    provisioning = engine.read_log(record.id, 0, provisioning=True)[0].decode()
    assert (final.status, final.exit_code) == ("succeeded", 0), provisioning
    assert engine.read_log(record.id, 0)[0].decode() == "".join(f"line {i}\n" for i in range(1, 301))
    assert "read1" not in provisioning


def test_the_ssh_runtime_runs_containers_on_the_hosts_engine(docker_host, config_file, tmp_path):
    write_config(config_file, {"box": {"kind": "ssh", "runtime": "docker", "host": docker_host.host,
                                       "port": docker_host.port, "user": docker_host.user,
                                       "identity_file": str(docker_host.key),
                                       "known_hosts": str(docker_host.known_hosts)}})
    spec = tmp_path / "hello.yaml"
    spec.write_text("type: task\nname: hello\nimage: test/busybox\ncommands: [echo hello from the box]\n")
    done = cli("run", str(spec), "--cluster", "box", "--follow")
    assert (done.returncode, done.stdout.strip().splitlines()[-1]) == (0, "hello from the box"), done.stderr


def test_clusters_test_of_a_refused_host_is_one_sentence(docker_host, config_file, tmp_path):
    stranger = keygen(tmp_path / "stranger")
    empty_known = tmp_path / "known_hosts"
    empty_known.write_text("")
    write_config(config_file, {"wrongkey": docker_cluster(docker_host, identity_file=str(stranger)),
                               "unknown": docker_cluster(docker_host, known_hosts=str(empty_known))})
    for name, words in (("wrongkey", "could not log in"), ("unknown", "host key")):
        done = cli("clusters", "test", name)
        assert done.returncode != 0
        assert "Traceback" not in done.stdout + done.stderr and "paramiko" not in done.stdout + done.stderr
        assert words in done.stdout + done.stderr, done.stdout + done.stderr
    check = backend_for(ClusterConfig(name="wrongkey", **docker_cluster(docker_host, identity_file=str(stranger)))).check()
    assert not check.reachable and check.message.count(".") >= 1 and "\n" not in check.message


def test_a_shell_in_the_container_goes_over_ssh_with_the_clusters_key(docker_host, config_file, tmp_path):
    import subprocess

    write_config(config_file, {"remote": docker_cluster(docker_host)})
    spec = tmp_path / "wait.yaml"
    spec.write_text("type: task\nname: waits\nimage: test/busybox\nenv: [LR=0.5]\ncommands: [echo up, sleep 60]\n")
    engine = Engine()
    record = engine.submit(spec, cluster="remote")
    try:
        until(lambda: engine.read_log(record.id, 0)[0] == b"up\n", what="the container to run")
        argv, env = engine.shell_command(record.id)
        assert argv[0] == "ssh" and str(docker_host.key) in argv and f"UserKnownHostsFile={docker_host.known_hosts}" in argv
        argv = [a for a in argv if a != "-t"]
        argv[-1] = argv[-1].replace(" -it ", " -i ")  # no terminal here: the shell reads stdin
        done = subprocess.run(argv, env=env, input="echo LR=$LR ID=$VESSL_TUI_RUN_ID\nexit\n", capture_output=True,
                              text=True, timeout=60)
        assert f"LR=0.5 ID={record.id}" in done.stdout, done.stderr
    finally:
        engine.stop(record.id)
        engine.wait(record.id, timeout=60)
