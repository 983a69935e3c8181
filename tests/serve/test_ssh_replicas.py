"""Replicas on an SSH host (the real sshd of tests/fixtures/sshd.py): the keeper reaches them through
a tunnel over the host's SSH connection, and the tunnel comes back by itself when the link is cut."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from core.serve.actions import ServeActions
from tests.serve.test_replicas import cli_ok, endpoint_of, get, running, service_yaml, stop_everything, wait_until  # noqa: F401

pytestmark = pytest.mark.ssh


def _answers(url: str, count: int) -> Counter:
    seen: Counter = Counter()
    for _ in range(count):
        try:
            status, body = get(url)
        except OSError as exc:
            seen[repr(exc)] += 1
            continue
        seen[body.rsplit(" ", 1)[0] if status == 200 else f"{status} {body.strip()}"] += 1
    return seen


def test_requests_through_the_endpoint_reach_replicas_on_the_ssh_host(sshd, config_file: Path, tmp_path: Path) -> None:
    fields = ", ".join(f"{k}: '{v}'" if isinstance(v, str) else f"{k}: {v}" for k, v in sshd.cluster().items())
    config_file.write_text(f"clusters:\n  box: {{{fields}}}\n")
    spec = tmp_path / "svc.yml"
    spec.write_text(service_yaml(name="far", replicas="2"))
    assert cli_ok("create", str(spec), "--cluster", "box", "--start").strip() == "far:1 starting"
    wait_until(running("far:1", 2), timeout=120, what="two ready replicas on the SSH host")
    replicas = ServeActions().store.replicas("far", 1)
    for rep in replicas:  # reached through a local forward, not at the replica's own port
        assert rep.address and rep.address.endswith("(ssh tunnel)"), rep
        assert rep.address.split()[0] != f"127.0.0.1:{rep.port}"
    from core.engine import Engine

    assert {Engine().get(rep.run_id).cluster for rep in replicas} == {"box"}
    shown = cli_ok("show", "far:1")
    assert "(ssh tunnel)" in shown

    url = endpoint_of("far")
    assert _answers(url, 20) == Counter({"rev=? replica=0": 10, "rev=? replica=1": 10})

    assert sshd.kill_connections() >= 1  # every SSH connection cut: the keeper's tunnels reconnect
    wait_until(lambda: _answers(url, 4) == Counter({"rev=? replica=0": 2, "rev=? replica=1": 2}), timeout=60,
               interval=0.2, what="requests answered by both replicas after the link came back")
    assert {rep.address for rep in ServeActions().store.replicas("far", 1)} == {rep.address for rep in replicas}

    cli_ok("stop", "far:1")
    runs = [rep.run_id for rep in replicas]
    wait_until(lambda: all(Engine().get(run_id).final for run_id in runs), timeout=60, what="remote replicas stopped")
