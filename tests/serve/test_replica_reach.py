"""Where the keeper sends a replica's traffic: the backend's `PortAccess` decides (unit level).

A Docker replica on a bridge network listens on its container port; the engine publishes it on a
free port of 127.0.0.1, and that published port is what the endpoint must connect to. The test
engine has no bridge network, so the engine's answer is a recorded `inspect` payload; the published
port is a real listener here. (Host networking runs for real in test_docker_replicas.py.)
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from core.backends.base import RunContext
from core.backends.docker import DockerBackend
from core.config import ClusterConfig
from core.serve.keeper import Keeper, ReplicaState
from core.serve.models import Replica
from core.spec.runspec import RunSpec
from core.tunnels import TunnelManager

CONTAINER_PORT = 8000


def inspect_payload(network: str, published: int | None) -> dict:
    """The parts of `docker inspect` that say where a container port is reachable."""
    ports = {f"{CONTAINER_PORT}/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(published)}]} if published else {}
    return {"NetworkSettings": {"Ports": ports if network == "bridge" else {}}, "HostConfig": {"NetworkMode": network}}


class RecordedEngine:
    """Answers `inspect_container` with a recorded payload (the docker SDK's `client().api`)."""

    def __init__(self, payload: dict):
        self.api = self
        self.payload = payload

    def inspect_container(self, container_id: str) -> dict:
        return self.payload


def docker_backend(payload: dict) -> DockerBackend:
    backend = DockerBackend(ClusterConfig(name="dk", kind="docker", host="unix:///run/recorded.sock"))
    backend._client = RecordedEngine(payload)
    return backend


@pytest.fixture
def listener():
    """A real listening socket standing for the port the engine published."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield sock.getsockname()[1]


def context(tmp_path: Path) -> RunContext:
    return RunContext(run_id="r1", spec=RunSpec(kind="dstack-service", name="web"),
                      cluster=ClusterConfig(name="dk", kind="docker"), run_dir=tmp_path, log_path=tmp_path / "log",
                      provision=lambda line: None)


class ReachLauncher:
    """The keeper's launcher, reduced to `reach`/`release` through a real TunnelManager."""

    def __init__(self, backend, ctx: RunContext):
        self.backend, self.ctx, self.tunnels = backend, ctx, TunnelManager()

    def reach(self, run_id: str, port: int):
        return self.tunnels.open(self.backend, self.ctx, {"container_id": "c0ffee"}, port)

    def release(self, tunnel) -> None:
        self.tunnels.close(tunnel)


def test_bridge_network_traffic_goes_to_the_published_port(tmp_path: Path, listener: int) -> None:
    backend = docker_backend(inspect_payload("bridge", listener))
    keeper = Keeper("web", launcher=ReachLauncher(backend, context(tmp_path)))
    state = ReplicaState(Replica("web", 1, 0, "starting", run_id="r1", port=CONTAINER_PORT))
    keeper.store.ensure_service("web")
    assert keeper._probe(_revision(), state, health_path=None)
    assert state.reach.kind == "direct" and state.reach.address == ("127.0.0.1", listener)
    assert state.row.address == f"127.0.0.1:{listener}" and state.row.port == CONTAINER_PORT
    state.forget_reach(keeper.launcher)
    assert state.reach is None and state.row.address is None


def test_host_network_traffic_goes_to_the_replica_port(tmp_path: Path) -> None:
    tunnel = TunnelManager().open(docker_backend(inspect_payload("host", None)), context(tmp_path),
                                  {"container_id": "c0ffee"}, CONTAINER_PORT)
    assert tunnel.address == ("127.0.0.1", CONTAINER_PORT) and tunnel.url == f"http://127.0.0.1:{CONTAINER_PORT}"


def test_unpublished_port_is_not_ready_and_says_why_once(tmp_path: Path) -> None:
    keeper = Keeper("web", launcher=ReachLauncher(docker_backend(inspect_payload("bridge", None)), context(tmp_path)))
    keeper.store.ensure_service("web")
    state = ReplicaState(Replica("web", 1, 0, "starting", run_id="r1", port=CONTAINER_PORT))
    assert not keeper._probe(_revision(), state, health_path=None)
    assert not keeper._probe(_revision(), state, health_path=None)
    said = [e.message for e in keeper.store.events("web")]
    assert said == [f"replica 0 not reachable yet: port {CONTAINER_PORT} of run r1 is not published: "
                    "add it to the spec's ports."]


def _revision():
    from core.serve.models import Revision

    return Revision(service="web", number=1, message=None, status="starting", desired=1, min_replicas=1,
                    max_replicas=1, metric=None, target=None, cluster="dk", spec_json="{}", created_at=0.0)
