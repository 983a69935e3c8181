"""Revisions with real replicas (local processes serving HTTP) behind the service's endpoint.

Everything runs for real: `vessl-tui revision` actions, the detached keeper process, the engine's
supervised runs, the endpoint. The tests that take a `dataplane` run on both planes (an HAProxy
child and the aiohttp proxy); the others on the default one. Waits poll the store; nothing asserts
on wall time.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlparse

import pytest
from click.testing import CliRunner

from core.cli.main import cli
from core.serve.actions import ServeActions
from core.serve.dataplane import DATAPLANE_ENV
from tests.serve.conftest import REPLICA_APP, vessl_revision_yaml
from tests.support import until as wait_until


def service_yaml(name: str = "echo", replicas: str = "1..3", scaling: str = "", probe: bool = True) -> str:
    text = (f"type: service\nname: {name}\ncommands:\n  - exec python3 {REPLICA_APP} --port $PORT\n"
            f"port: 8000\nreplicas: {replicas}\n")
    if ".." in replicas:  # dstack: a range of replicas needs `scaling`, a fixed count refuses it
        text += scaling or "scaling:\n  metric: rps\n  target: 1000\n"
    if probe:
        text += "probes:\n  - type: http\n    url: /health\n"
    return text


def cli_ok(*args: str) -> str:
    result = CliRunner().invoke(cli, ["revision", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output




def revision(ref: str):
    return ServeActions().resolve(ref)


def endpoint_of(service: str) -> str:
    actions = ServeActions()
    return wait_until(lambda: actions.live_endpoint(actions.store.service(service)), what="the endpoint")


def get(url: str, path: str = "/") -> tuple[int, str]:
    parsed = urlparse(url)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=10)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read().decode()
    finally:
        conn.close()


def running(ref: str, ready: int):
    def check():
        rev = revision(ref)
        return rev.status == "running" and rev.ready == ready and rev
    return check


class Traffic(threading.Thread):
    """Requests in a loop until stopped; counts answers per body prefix and every failure."""

    def __init__(self, url: str, rate: float | None = None):
        super().__init__(daemon=True)
        self.url, self.rate = url, rate
        self.halt = threading.Event()
        self.ok: Counter = Counter()
        self.failures: list[str] = []

    def run(self) -> None:
        while not self.halt.is_set():
            try:
                status, body = get(self.url)
                if status == 200:
                    self.ok[body.rsplit(" ", 1)[0]] += 1
                else:
                    self.failures.append(f"{status} {body}")
            except OSError as exc:
                self.failures.append(repr(exc))
            if self.rate:
                time.sleep(1 / self.rate)

    def stop(self) -> None:
        self.halt.set()
        self.join()


@pytest.fixture(params=["haproxy", "aiohttp"])
def dataplane(request, monkeypatch) -> str:
    """Keepers started by this test serve their endpoint with this plane (the variable they inherit)."""
    if request.param == "haproxy" and shutil.which("haproxy") is None:
        pytest.skip("haproxy is not installed")
    monkeypatch.setenv(DATAPLANE_ENV, request.param)
    return request.param


def plane_of(service: str) -> str:
    """The data plane the service's keeper said it serves with."""
    ups = [e.message for e in ServeActions().store.events(service, None, kinds=("endpoint",)) if " up (" in e.message]
    return ups[-1].split(" up (", 1)[1].split()[0]


def haproxy_pids(service: str, vessl_home: Path) -> list[int]:
    pidfile = vessl_home / "serve" / f"{service}.endpoint" / "haproxy.pid"
    return [int(p) for p in pidfile.read_text().split()] if pidfile.exists() else []


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.fixture
def spec_file(tmp_path: Path):
    def write(text: str, name: str = "svc.yml") -> str:
        path = tmp_path / name
        path.write_text(text)
        return str(path)
    return write


@pytest.fixture(autouse=True)
def stop_everything():
    yield
    actions = ServeActions()
    for rev in actions.store.revisions():
        if rev.active:
            actions.stop(f"{rev.service}:{rev.number}")
    for svc in actions.store.services():
        wait_until(lambda: not actions.live_endpoint(actions.store.service(svc.name)), what="the keeper to exit")


def test_start_scale_1_3_1_without_a_failed_request(spec_file, dataplane) -> None:
    assert cli_ok("create", spec_file(service_yaml()), "--start").strip() == "echo:1 starting"
    wait_until(running("echo:1", 1), what="one ready replica")
    url = endpoint_of("echo")
    assert plane_of("echo") == dataplane
    traffic = Traffic(url)
    traffic.start()
    try:
        cli_ok("scale", "echo:1", "3")
        wait_until(running("echo:1", 3), what="three ready replicas")
        before = dict(traffic.ok)
        wait_until(lambda: all(traffic.ok[f"rev=? replica={i}"] > before.get(f"rev=? replica={i}", 0) + 5
                               for i in range(3)), what="traffic on every replica")
        cli_ok("scale", "echo:1", "1")
        wait_until(running("echo:1", 1), what="back to one replica")
        time.sleep(0.5)
    finally:
        traffic.stop()
    assert traffic.failures == []
    assert set(traffic.ok) == {"rev=? replica=0", "rev=? replica=1", "rev=? replica=2"}
    listed = json.loads(cli_ok("list", "--json"))
    assert [(r["number"], r["status"], r["replicas"], r["endpoint"], r["dataplane"]) for r in listed] == [
        (1, "running", "1/1", url, dataplane)]
    table = cli_ok("list").splitlines()
    assert " ENDPOINT " in table[0] and " PLANE " in table[0]
    assert table[1].split(url, 1)[1].split()[0] == dataplane  # the plane right after the endpoint
    events = [e.message for e in ServeActions().store.events("echo", 1, kinds=("replica",))]
    assert "replica 2 stopped" in events and "replica 1 stopped" in events


def test_killed_replica_is_replaced_and_counted(spec_file, dataplane) -> None:
    cli_ok("create", spec_file(service_yaml(replicas="2")), "--start")
    wait_until(running("echo:1", 2), what="two ready replicas")
    url = endpoint_of("echo")
    victim = ServeActions().store.replicas("echo", 1)[1]
    _, body = wait_until(lambda: (lambda r: r if "replica=1" in r[1] else None)(get(url)), what="replica 1 answering")
    os.kill(int(body.rsplit("pid=", 1)[1]), signal.SIGKILL)
    wait_until(lambda: ServeActions().store.replicas("echo", 1)[1].restarts == 1, what="the restart")
    wait_until(running("echo:1", 2), what="the replacement to be ready")
    replaced = ServeActions().store.replicas("echo", 1)[1]
    assert replaced.run_id != victim.run_id and replaced.restarts == 1 and replaced.last_exit
    assert revision("echo:1").restarts == 1
    shown = cli_ok("show", "echo:1")
    assert "restarts 1" in shown and "restart 1 in" in shown


def test_stop_reproduce_delete(spec_file) -> None:
    cli_ok("create", spec_file(service_yaml(replicas="1")), "--start")
    wait_until(running("echo:1", 1), what="a ready replica")
    runs = [r.run_id for r in ServeActions().store.replicas("echo", 1)]
    refused = CliRunner().invoke(cli, ["revision", "delete", "echo:1"])
    assert refused.exit_code == 1
    assert refused.output.strip() == "error: revision 1 of echo is running; stop it first or delete with --force."
    assert cli_ok("stop", "echo:1").strip() == "echo:1 stopped"
    wait_until(lambda: not ServeActions().live_endpoint(ServeActions().store.service("echo")), what="endpoint down")
    from core.engine import Engine

    wait_until(lambda: all(Engine().get(run_id).status == "stopped" for run_id in runs), what="replica runs stopped")
    assert cli_ok("reproduce", "echo:1").strip() == "echo:2 created"
    assert revision("echo:2").spec_json == revision("echo:1").spec_json
    cli_ok("start", "echo:2")
    wait_until(running("echo:2", 1), what="the reproduced revision running")
    assert get(endpoint_of("echo"))[0] == 200
    assert cli_ok("delete", "echo:2", "--force").strip() == "echo:2 deleted"
    assert [r["number"] for r in json.loads(cli_ok("list", "--json"))] == [1]


def test_weighted_split_between_two_revisions(spec_file, dataplane) -> None:
    path = spec_file(service_yaml(replicas="1").replace("--port $PORT", "--port $PORT --rev"))
    cli_ok("create", path, "--start")
    cli_ok("create", path, "--start")
    wait_until(lambda: running("echo:1", 1)() and running("echo:2", 1)(), what="both revisions running")
    url = endpoint_of("echo")
    assert cli_ok("traffic", "echo", "1=90", "2=10").strip() == "echo: 1=90 2=10"
    time.sleep(1.0)  # the keeper applies new weights within a tick
    runs = {r.revision: r.run_id for r in ServeActions().store.replicas("echo")}
    pids = Counter()
    conn = http.client.HTTPConnection(urlparse(url).hostname, urlparse(url).port, timeout=10)
    for _ in range(1000):
        conn.request("GET", "/")
        resp = conn.getresponse()
        assert resp.status == 200
        pids[resp.read().decode().rsplit("pid=", 1)[1]] += 1
    conn.close()
    shares = sorted(pids.values(), reverse=True)
    assert len(runs) == 2 and len(shares) == 2
    assert abs(shares[0] / 1000 - 0.90) <= 0.03 and abs(shares[1] / 1000 - 0.10) <= 0.03, pids


def test_autoscaler_follows_load_within_bounds_without_flapping(spec_file, dataplane) -> None:
    scaling = ("scaling:\n  metric: rps\n  target: 4\n  scale_up_delay: 1s\n  scale_down_delay: 4s\n")
    cli_ok("create", spec_file(service_yaml(replicas="1..3", scaling=scaling)), "--start")
    wait_until(running("echo:1", 1), what="one ready replica")
    url = endpoint_of("echo")
    load = Traffic(url, rate=40)
    load.start()
    try:
        wait_until(lambda: revision("echo:1").desired == 3, what="scale up to max")
        wait_until(running("echo:1", 3), what="three ready replicas under load")
    finally:
        load.stop()
    assert load.failures == []
    wait_until(running("echo:1", 1), timeout=90, what="scale back down to min")
    decisions = [e.message for e in ServeActions().store.events("echo", 1, kinds=("scale",))]
    assert decisions and all("rps" in d for d in decisions), decisions
    counts = [int(d.split(" -> ")[1].split()[0]) for d in decisions]
    assert all(1 <= c <= 3 for c in counts)
    directions = ["up" if "scale up" in d else "down" for d in decisions]
    assert directions == sorted(directions, key=lambda d: d == "down"), decisions  # all ups, then all downs


def test_killed_keeper_comes_back_and_adopts_its_replicas(spec_file, dataplane, vessl_home: Path) -> None:
    cli_ok("create", spec_file(service_yaml(replicas="2")), "--start")
    wait_until(running("echo:1", 2), what="two ready replicas")
    url = endpoint_of("echo")
    before = {r.index: r.run_id for r in ServeActions().store.replicas("echo", 1)}
    proxies = haproxy_pids("echo", vessl_home)
    assert len(proxies) == (1 if dataplane == "haproxy" else 0)
    keeper = ServeActions().store.service("echo").pid
    os.kill(keeper, signal.SIGKILL)
    wait_until(lambda: not alive(keeper), what="the keeper to die")  # SIGKILL is delivered, not awaited
    wait_until(lambda: not any(alive(pid) for pid in proxies), what="its haproxy to die with it")
    # the replicas outlive their keeper
    assert get(url.replace(str(urlparse(url).port), str(ServeActions().store.replicas("echo", 1)[0].port)))[0] == 200
    listed = json.loads(cli_ok("list", "--json"))  # any client brings the keeper back
    wait_until(lambda: ServeActions().live_endpoint(ServeActions().store.service("echo")), what="a new keeper")
    assert endpoint_of("echo") == url  # same port, same URL
    wait_until(lambda: get(url)[0] == 200, what="the endpoint answering again")
    assert {r.index: r.run_id for r in ServeActions().store.replicas("echo", 1)} == before  # adopted, not doubled
    assert listed[0]["status"] == "running"


def test_secret_reaches_the_replica_but_not_the_store_or_logs(spec_file, vessl_home: Path) -> None:
    text = vessl_revision_yaml("with a secret", "env:\n  HF_TOKEN:\n    value: hf_replica_secret_42\n    secret: true\n")
    cli_ok("create", spec_file(text, "secret.yaml"), "--start")
    wait_until(running("echo:1", 1), what="the replica running")
    assert get(endpoint_of("echo"), "/env/HF_TOKEN") == (200, "hf_replica_secret_42")
    assert "listening on" in cli_ok("logs", "echo:1", "--replica", "0")
    for file in vessl_home.rglob("*"):
        if file.is_file():
            assert b"hf_replica_secret_42" not in file.read_bytes(), file


def test_autoscaler_scales_up_on_cpu_from_the_backend() -> None:
    """CPU comes from the backend's metrics (dstack scales on rps only: the spec is built in code)."""
    from core.spec.runspec import Autoscaling, Command, RunSpec, ServiceSpec

    auto = Autoscaling(min=1, max=2, metric="cpu", target=5, scale_up_delay=1, scale_down_delay=60)
    spec = RunSpec(kind="dstack-service", name="burner",
                   commands=[Command(command=f"exec python3 {REPLICA_APP} --port $PORT --burn")],
                   service=ServiceSpec(port=8000, health_path="/health", health_type="http", autoscaling=auto))
    ServeActions().create_from_spec(spec, start=True)
    wait_until(lambda: revision("burner:1").desired == 2, what="a CPU scale-up")
    decision = ServeActions().store.events("burner", 1, kinds=("scale",))[0].message
    assert decision.startswith("1 -> 2 replicas: scale up: cpu ") and "vs target 5%" in decision
    wait_until(running("burner:1", 2), what="two ready replicas")


def test_killed_haproxy_is_started_again_with_the_same_replicas(spec_file, monkeypatch, vessl_home: Path) -> None:
    if shutil.which("haproxy") is None:
        pytest.skip("haproxy is not installed")
    monkeypatch.setenv(DATAPLANE_ENV, "haproxy")
    cli_ok("create", spec_file(service_yaml(replicas="2")), "--start")
    wait_until(running("echo:1", 2), what="two ready replicas")
    url = endpoint_of("echo")
    [first] = haproxy_pids("echo", vessl_home)
    os.kill(first, signal.SIGKILL)
    said = "haproxy ended (killed by signal 9); started again with the same replicas"
    wait_until(lambda: said in [e.message for e in ServeActions().store.events("echo", None, kinds=("endpoint",))],
               what="the restart event")
    assert haproxy_pids("echo", vessl_home) != [first]
    seen = Counter(get(url)[1].split()[1] for _ in range(20))
    assert set(seen) == {"replica=0", "replica=1"}
    assert endpoint_of("echo") == url


def test_the_built_in_revision_template_scales_past_one_replica(tmp_path) -> None:
    import core.spec as spec_api

    template = spec_api.templates()["vessl-revision"]
    path = tmp_path / "hello.yaml"
    path.write_text(template.replace("max: 2", "max: 3"))
    actions = ServeActions()
    rev = actions.create(str(path), start=True)
    ref = f"{rev.service}:{rev.number}"
    wait_until(running(ref, 1), what="one replica of the template ready", timeout=60)
    actions.scale(ref, 2)
    wait_until(running(ref, 2), what="two replicas of the template ready", timeout=60)
    ports = {r.port for r in actions.store.replicas(rev.service) if r.revision == rev.number}
    assert len(ports) == 2  # each on its own $PORT
