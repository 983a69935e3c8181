"""Both data planes against real replica processes: balancing, weighted split, draining, failover.

Every test runs on the aiohttp endpoint and on a real HAProxy child (skipped where HAProxy is not
installed; CI installs it).
"""

from __future__ import annotations

import asyncio
import shutil
from collections import Counter

import aiohttp
import pytest

from core.serve.endpoint import Endpoint, Upstream
from core.serve.haproxy import HaproxyEndpoint


@pytest.fixture(params=["aiohttp", "haproxy"])
def plane(request, tmp_path):
    """A fresh, unstarted data plane of each kind on a free port."""
    if request.param == "haproxy":
        if shutil.which("haproxy") is None:
            pytest.skip("haproxy is not installed")
        return HaproxyEndpoint(tmp_path / "endpoint")
    return Endpoint()


async def fetch_many(url: str, n: int, path: str = "/", concurrency: int = 8) -> list[tuple[int, str]]:
    results: list[tuple[int, str]] = []
    queue = list(range(n))
    async with aiohttp.ClientSession() as session:

        async def worker() -> None:
            while queue:
                queue.pop()
                async with session.get(url + path) as resp:
                    results.append((resp.status, await resp.text()))

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return results


async def test_requests_reach_every_ready_replica(replica_procs, plane) -> None:
    ups = []
    for i in range(3):
        _, port = replica_procs(1, i)
        ups.append(Upstream(revision=1, index=i, host="127.0.0.1", port=port))
    ep = plane
    url = await ep.start()
    try:
        ep.publish(ups, {1: 1})
        results = await fetch_many(url, 60)
        assert {s for s, _ in results} == {200}
        seen = Counter(body.split()[1] for _, body in results)
        assert set(seen) == {"replica=0", "replica=1", "replica=2"}
        assert ep.stats()[1]["total"] == 60
    finally:
        await ep.stop()


async def test_weighted_split_90_10_over_1000_requests(replica_procs, plane) -> None:
    _, p1 = replica_procs(1, 0)
    _, p2 = replica_procs(2, 0)
    ep = plane
    url = await ep.start()
    try:
        ep.publish([Upstream(1, 0, "127.0.0.1", p1), Upstream(2, 0, "127.0.0.1", p2)], {1: 90, 2: 10})
        results = await fetch_many(url, 1000)
        revs = Counter(body.split()[0] for status, body in results if status == 200)
        assert sum(revs.values()) == 1000
        assert abs(revs["rev=1"] / 1000 - 0.90) <= 0.03, revs
        assert abs(revs["rev=2"] / 1000 - 0.10) <= 0.03, revs
    finally:
        await ep.stop()


async def test_draining_and_dead_replicas_fail_no_request(replica_procs, plane) -> None:
    proc0, p0 = replica_procs(1, 0)
    _, p1 = replica_procs(1, 1)
    ep = plane
    url = await ep.start()
    try:
        ep.publish([Upstream(1, 0, "127.0.0.1", p0), Upstream(1, 1, "127.0.0.1", p1)], {1: 1})
        # a replica killed without notice: its connections are refused and requests go elsewhere
        proc0.kill()
        proc0.wait()
        results = await fetch_many(url, 50)
        assert [s for s, _ in results] == [200] * 50
        assert all("replica=1" in body for _, body in results)
        # drained: no new requests while it is marked draining
        ep.publish([Upstream(1, 0, "127.0.0.1", p0), Upstream(1, 1, "127.0.0.1", p1, draining=True)], {1: 1})
        results = await fetch_many(url, 5)
        assert {s for s, _ in results} == {503}
        assert {body for _, body in results} == {"no ready replica for this service; try again shortly\n"}
    finally:
        await ep.stop()


async def test_least_outstanding_prefers_the_idle_replica(replica_procs, plane) -> None:
    _, p0 = replica_procs(1, 0)
    _, p1 = replica_procs(1, 1)
    ep = plane
    url = await ep.start()
    try:
        ep.publish([Upstream(1, 0, "127.0.0.1", p0), Upstream(1, 1, "127.0.0.1", p1)], {1: 1})
        async with aiohttp.ClientSession() as session:
            slow = asyncio.create_task(session.get(url + "/slow?ms=1500"))
            await asyncio.sleep(0.3)
            busy = [i for i in (0, 1) if ep.outstanding((1, i)) == 1]
            assert len(busy) == 1 and ep.stats()[1]["inflight"] == 1
            bodies = [await (await session.get(url + "/")).text() for _ in range(10)]
            assert all(f"replica={busy[0]}" not in b for b in bodies)
            (await slow).release()
        assert ep.outstanding((1, busy[0])) == 0
    finally:
        await ep.stop()


def test_readiness_probe_tcp_and_http(replica_procs) -> None:
    from core.serve.keeper import probe_sync
    from tests.support import free_port

    _, port = replica_procs(1, 0)
    assert probe_sync("127.0.0.1", port, None)
    assert probe_sync("127.0.0.1", port, "/health")
    assert not probe_sync("127.0.0.1", free_port(), None)
    assert not probe_sync("127.0.0.1", free_port(), "/health")


async def test_one_clients_cookie_never_reaches_another(replica_procs) -> None:
    _, port = replica_procs(1, 0)
    ep = Endpoint()  # HAProxy keeps no cookie jar: only the aiohttp client could
    url = await ep.start()
    try:
        ep.router.set_upstreams([Upstream(1, 0, "localhost", port)])  # a host name: a jar would keep its cookies
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as alice:
            async with alice.get(url + "/set-cookie") as resp:
                assert resp.status == 200 and "session=alice" in resp.headers["Set-Cookie"]
            async with alice.get(url + "/header/Cookie") as resp:
                assert await resp.text() == "session=alice"  # her own client sends it back
        async with aiohttp.ClientSession() as bob:
            async with bob.get(url + "/header/Cookie") as resp:
                assert await resp.text() == ""
    finally:
        await ep.stop()
