"""A Slurm cluster reached through its login host: the real sshd on 127.0.0.1 (tests/fixtures/sshd.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fixtures.sshd import Sshd, sshd  # noqa: F401
from tests.slurm.conftest import task, write_config
from tests.support import cli


@pytest.fixture
def login(slurm, sshd: Sshd, config_file: Path):  # noqa: F811
    fields = sshd.cluster()
    fields.pop("kind"), fields.pop("host")
    write_config(config_file, {"hpc": slurm.cluster(login=sshd.host, **fields)})
    yield sshd
    from core import sshconn

    sshconn.close_all()


def test_two_node_run_submitted_through_the_login_host(login: Sshd, slurm, tmp_path: Path, vessl_home: Path) -> None:
    checked = cli("clusters", "test", "hpc")
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.startswith(f"hpc: reachable: sinfo answers on root@127.0.0.1:{login.port}: partition debug")
    spec = task(tmp_path, "remote", [
        'echo "rank=$DSTACK_NODE_RANK world=$WORLD_SIZE master=$MASTER_ADDR secret=${TOKEN:-unset}"',
    ], nodes=2, env={"TOKEN": "s3cr3t-value"})
    done = cli("run", str(spec), "--cluster", "hpc", "--follow")
    assert done.returncode == 0, done.stderr
    run_id = json.loads(cli("ps", "--all", "--json").stdout)[0]["id"]
    log = cli("logs", run_id).stdout
    masters = set()
    for rank in (0, 1):
        line = next(l for l in log.splitlines() if l.startswith(f"[rank {rank}] rank="))
        assert f"rank={rank} world=2" in line and "secret=s3cr3t-value" in line
        masters.add(line.split("master=")[1].split()[0])
    assert len(masters) == 1
    record = json.loads(cli("ps", "--all", "--json").stdout)[0]
    assert record["status"] == "succeeded"
    # the job's files live under the login host's work_root; a copy of the batch script is kept here
    remote = login.folder / "work" / "runs" / run_id / "slurm" / "attempt-1"
    assert (remote / "job.sbatch").read_text() == (vessl_home / "runs" / run_id / "job-1.sbatch").read_text()
    assert "s3cr3t-value" not in "".join(p.read_text(errors="replace") for p in remote.iterdir() if p.is_file()
                                         and not p.name.startswith("rank-"))


def test_an_unknown_login_host_key_is_refused_in_one_sentence(slurm, sshd: Sshd, config_file: Path,  # noqa: F811
                                                               tmp_path: Path) -> None:
    fields = sshd.cluster(known_hosts=str(tmp_path / "empty_known_hosts"))
    fields.pop("kind"), fields.pop("host")
    write_config(config_file, {"hpc": slurm.cluster(login=sshd.host, **fields)})
    done = cli("clusters", "test", "hpc")
    assert done.returncode == 1
    assert "host key" in done.stdout and "Traceback" not in done.stdout + done.stderr
    assert len(done.stdout.strip().splitlines()) == 1


def test_tunnel_reaches_the_head_nodes_port_through_the_login_host(login: Sshd, tmp_path: Path) -> None:
    from core.engine import Engine
    from core.tunnels import TunnelManager
    from tests.support import free_port, until

    port = free_port()
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "index.html").write_text("head node here\n")
    engine = Engine()
    spec = task(tmp_path, "web", [
        f'if [ "$DSTACK_NODE_RANK" = 0 ]; then exec python3 -m http.server {port} --bind "$MASTER_ADDR" '
        f'--directory {tmp_path / "site"}; else sleep 300; fi'], nodes=2)
    record = engine.submit(spec, cluster="hpc")
    manager = TunnelManager()
    try:
        until(lambda: (r := engine.get(record.id)).handle and r.status == "running", what="the job to run", timeout=60)
        tunnel = until(lambda: _try_open(manager, engine, record.id, port), what="the tunnel", timeout=60)
        assert tunnel.kind == "ssh" and tunnel.target[0] in ("127.0.0.2", "127.0.0.3")
        host, local = tunnel.address
        body = until(lambda: _get(f"http://{host}:{local}/index.html"), what="the server's answer", timeout=60)
        assert body == "head node here\n"
    finally:
        manager.close_all()
        engine.stop(record.id)
    assert engine.wait(record.id, timeout=60).status == "stopped"


def _try_open(manager, engine, run_id, port):
    from core.backends.base import BackendError

    try:
        return manager.open_for_run(engine, run_id, port)
    except BackendError:
        return None


def _get(url: str) -> str | None:
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return answer.read().decode()
    except OSError:
        return None
