"""SSH clusters end to end: the config, the engine's detached supervisor, the CLI, a real sshd."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from core.engine import Engine
from tests.conftest import REPO
from tests.fixtures.sshd import free_port
from tests.support import cli, until as wait_for

pytestmark = pytest.mark.ssh




@contextmanager
def tunnel_to_running_run(spec: Path, port: int) -> Iterator[tuple[subprocess.Popen, str, str]]:
    """Submit `spec` to cluster `box`, wait until it runs, and open `vessl-tui tunnel RUN PORT`:
    yields (the tunnel process, the line it printed first, the run id). The tunnel is killed if still
    up, and the run stopped and awaited, on the way out. It starts with SIGINT ignored, as every
    command a non-interactive shell starts in the background does (a suite run with `&`): a
    Ctrl-C (SIGINT) must stop it all the same."""
    engine = Engine()
    record = engine.submit(spec, cluster="box")
    wait_for(lambda: engine.get(record.id).status == "running", what="the run to start")
    proc = subprocess.Popen([sys.executable, "-m", "core.cli.main", "tunnel", record.id, str(port)],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    try:
        yield proc, proc.stdout.readline(), record.id
    finally:
        if proc.poll() is None:
            proc.kill()
        engine.stop(record.id)
        engine.wait(record.id, timeout=60)


def write_config(config_file: Path, sshd, **extra) -> None:
    fields = ", ".join(f"{k}: '{v}'" if isinstance(v, str) else f"{k}: {v}" for k, v in sshd.cluster(**extra).items())
    config_file.write_text(f"clusters:\n  box: {{{fields}}}\n")


def write_spec(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    return path




def test_trust_an_unknown_host_then_run_with_follow(sshd, config_file, tmp_path) -> None:
    known = tmp_path / "known_hosts"
    write_config(config_file, sshd, known_hosts=str(known))
    refused = cli("clusters", "test", "box")
    assert refused.returncode == 1 and "host key" in refused.stdout + refused.stderr
    assert "Traceback" not in refused.stderr
    trusted = cli("clusters", "trust", "box", "--yes")
    assert trusted.returncode == 0, trusted.stderr
    assert "SHA256:" in trusted.stdout and known.read_text().startswith(f"[127.0.0.1]:{sshd.port} ssh-ed25519 ")
    spec = write_spec(tmp_path, "type: task\nname: remote\ncommands:\n  - echo \"hello from $(hostname)\"\n  - exit 3\n")
    done = cli("run", str(spec), "--cluster", "box", "--follow")
    assert done.returncode == 3, done.stderr
    assert "hello from" in done.stdout
    (record,) = Engine().list_runs(include_finished=True)
    assert (record.status, record.exit_code, record.cluster) == ("failed", 3, "box")


def test_supervisor_and_link_killed_mid_run_lose_no_log_line(sshd, config_file, tmp_path) -> None:
    write_config(config_file, sshd)
    spec = write_spec(tmp_path, "type: task\nname: survivor\ncommands:\n"
                                "  - for i in $(seq 1 60); do echo line $i; sleep 0.05; done\n")
    engine = Engine()
    record = engine.submit(spec, cluster="box")
    wait_for(lambda: b"line 5\n" in engine.read_log(record.id, 0)[0], what="the first lines")
    pid = engine.get(record.id).supervisor_pid
    os.kill(pid, signal.SIGKILL)
    sshd.kill_connections()
    wait_for(lambda: engine.reconcile() or engine.get(record.id).supervisor_pid != pid, what="a new supervisor")
    final = engine.wait(record.id, timeout=90)
    assert (final.status, final.exit_code) == ("succeeded", 0)
    log = engine.read_log(record.id, 0)[0].decode()
    assert log == "".join(f"line {i}\n" for i in range(1, 61))


def test_secret_reaches_the_run_but_no_file_nor_ps(sshd, config_file, tmp_path) -> None:
    write_config(config_file, sshd)
    secret = "Zq8-very-private-93"
    spec = write_spec(tmp_path, "name: secretive\nimage: python:3.11\nresources: {cluster: box}\nrun:\n"
                                "  - command: 'echo \"got ${#TOKEN} chars\"; sleep 1'\n"
                                f"env:\n  TOKEN: {{value: '{secret}', secret: true}}\n")
    engine = Engine()
    record = engine.submit(spec, cluster="box")
    wait_for(lambda: b"got 19 chars" in engine.read_log(record.id, 0)[0], what="the run's output")
    assert secret not in subprocess.run(["ps", "auxww"], capture_output=True, text=True).stdout
    assert engine.wait(record.id, timeout=60).status == "succeeded"
    folders = [sshd.folder / "work", Path(os.environ["VESSL_TUI_HOME"])]
    for folder in folders:
        for path in folder.rglob("*"):
            if path.is_file():
                assert secret.encode() not in path.read_bytes(), f"the secret is in {path}"


def test_tunnel_command_holds_the_port_until_ctrl_c(sshd, config_file, tmp_path) -> None:
    write_config(config_file, sshd)
    port = free_port()
    spec = write_spec(tmp_path, "type: task\nname: web\ncommands:\n  - echo tunnelled > index.txt\n"
                                f"  - exec python3 -m http.server {port} --bind 127.0.0.1\n")
    with tunnel_to_running_run(spec, port) as (proc, line, _):
        assert line.startswith("http://127.0.0.1:"), line + proc.stderr.read()
        url = line.split()[0]

        def fetch() -> str | None:
            try:
                with urllib.request.urlopen(f"{url}/index.txt", timeout=5) as response:
                    return response.read().decode()
            except OSError:
                return None

        assert wait_for(fetch, what="the page through the tunnel") == "tunnelled\n"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0


def test_a_dev_environment_stays_up_on_the_host_and_its_shell_has_the_runs_id(sshd, config_file, tmp_path) -> None:
    write_config(config_file, sshd)
    spec = write_spec(tmp_path, "type: dev-environment\nname: devbox\nide: vscode\nenv: [LR=0.5]\n")
    engine = Engine()
    record = engine.submit(spec, cluster="box")
    try:
        wait_for(lambda: engine.get(record.id).status == "running", what="the environment to start")
        argv, env = engine.shell_command(record.id)
        argv = [a for a in argv if a != "-t"]  # no terminal here: the remote shell reads stdin
        entered = subprocess.run(argv, env=env, input="echo LR=$LR ID=$VESSL_TUI_RUN_ID\nexit\n",
                                 capture_output=True, text=True, timeout=60)
        assert f"LR=0.5 ID={record.id}" in entered.stdout
        assert engine.get(record.id).status == "running"  # nothing to run, and still up
    finally:
        engine.stop(record.id)
    assert engine.wait(record.id, timeout=60).status == "stopped"


def test_clusters_trust_and_test_as_json(sshd, config_file, tmp_path) -> None:
    import json

    known = tmp_path / "known_hosts"
    write_config(config_file, sshd, known_hosts=str(known))
    asked = json.loads(cli("clusters", "trust", "box", "--json").stdout)
    assert asked["cluster"] == "box" and asked["state"] == "unknown" and asked["fingerprint"].startswith("SHA256:")
    assert not known.exists()  # --json asks nothing and trusts only with --yes
    trusted = json.loads(cli("clusters", "trust", "box", "--json", "--yes").stdout)
    assert trusted["state"] == "trusted" and trusted["fingerprint"] == asked["fingerprint"]
    assert json.loads(cli("clusters", "trust", "box", "--json").stdout)["state"] == "known"
    check = cli("clusters", "test", "box", "--json")
    assert check.returncode == 0 and json.loads(check.stdout)["reachable"] is True
