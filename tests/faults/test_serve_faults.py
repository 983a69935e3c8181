"""Serve faults: a replica killed under load on both data planes (every idempotent request in
flight is answered by another replica), and a replica that dies in the middle of its answer on the
aiohttp plane (an idempotent request is retried elsewhere, any other gets 502: never a 500 or a
traceback)."""

from __future__ import annotations

import asyncio
import logging
import shutil
import signal

import aiohttp
import pytest

from core.serve.endpoint import Endpoint, Upstream
from core.serve.haproxy import HaproxyEndpoint
from tests.serve.conftest import replica_procs  # noqa: F401  (real replica processes)

IN_FLIGHT = 40


@pytest.fixture(params=["aiohttp", "haproxy"])
def plane(request, tmp_path):
    if request.param == "haproxy":
        if shutil.which("haproxy") is None:
            pytest.skip("haproxy is not installed")
        return HaproxyEndpoint(tmp_path / "endpoint")
    return Endpoint()


async def call(session: aiohttp.ClientSession, method: str, url: str) -> tuple[int, str]:
    try:
        async with session.request(method, url, data=b"x" if method == "POST" else None) as resp:
            return resp.status, await resp.text()
    except aiohttp.ClientError as exc:  # a cut answer: counted as failed
        return 0, f"{type(exc).__name__}: {exc}"


def tally(report, results: list[tuple[int, str]], want: set[int]) -> None:
    for status, body in results:
        report.tried += 1
        if status not in want:
            report.failed += 1
            report.notes.append(f"{status}: {body[:120]}")
        if status == 500:
            report.tracebacks += 1
        report.check_text(body, "an answer")


async def test_a_replica_killed_under_load_fails_no_idempotent_request(replica_procs, plane, fault, caplog):
    report = fault(f"replica killed under load ({plane.name})")
    victim, p0 = replica_procs(1, 0)
    _, p1 = replica_procs(1, 1)
    url = await plane.start()
    try:
        plane.publish([Upstream(1, 0, "127.0.0.1", p0), Upstream(1, 1, "127.0.0.1", p1)], {1: 1})
        with caplog.at_level(logging.ERROR):
            async with aiohttp.ClientSession() as session:
                pending = [asyncio.ensure_future(call(session, "GET", f"{url}/slow?ms=600"))
                           for _ in range(IN_FLIGHT)]
                await asyncio.sleep(0.3)  # every request is in flight, half of them at the victim
                victim.send_signal(signal.SIGKILL)
                results = await asyncio.wait_for(asyncio.gather(*pending), timeout=60)
            # POSTs in flight at a replica that dies: never sent twice, so those it had get a 502
            victim, p2 = replica_procs(1, 2)
            plane.publish([Upstream(1, 2, "127.0.0.1", p2), Upstream(1, 1, "127.0.0.1", p1)], {1: 1})
            async with aiohttp.ClientSession() as session:  # (a new layout may mean a new HAProxy process)
                posts = [asyncio.ensure_future(call(session, "POST", f"{url}/slow?ms=600")) for _ in range(10)]
                await asyncio.sleep(0.3)
                victim.send_signal(signal.SIGKILL)
                posted = await asyncio.wait_for(asyncio.gather(*posts), timeout=60)
        tally(report, results, {200})
        tally(report, posted, {200, 502})
        if 502 not in {status for status, _ in posted}:
            report.failed += 1
            report.notes.append(f"every POST was answered: those the victim had were sent again elsewhere: {posted}")
        report.tracebacks += sum(1 for r in caplog.records if r.exc_info)
    finally:
        await plane.stop()
    report.assert_clean()


async def test_a_replica_dying_mid_answer_is_retried_or_a_502(replica_procs, fault, caplog):
    report = fault("replica dies mid-response (aiohttp)")
    _, p0 = replica_procs(1, 0, DIE_MIDWAY="1")
    _, p1 = replica_procs(1, 1)
    plane = Endpoint()
    url = await plane.start()
    try:
        # the dying replica alone first: a POST cannot be retried elsewhere, so it must be a 502
        plane.publish([Upstream(1, 0, "127.0.0.1", p0)], {1: 1})
        with caplog.at_level(logging.ERROR):
            async with aiohttp.ClientSession() as session:
                tally(report, [await call(session, "POST", f"{url}/dribble")], {502})
                _, p0 = replica_procs(1, 2, DIE_MIDWAY="1")
                plane.publish([Upstream(1, 2, "127.0.0.1", p0), Upstream(1, 1, "127.0.0.1", p1)], {1: 1})
                # a GET is answered whole by the replica that lives, whichever one it reached first
                results = [await call(session, "GET", f"{url}/dribble") for _ in range(4)]
        tally(report, results, {200})
        for status, body in results:
            if status == 200 and body != "first half|second half":
                report.lost += 1
                report.notes.append(f"a partial answer passed as whole: {body!r}")
        report.tracebacks += sum(1 for r in caplog.records if r.exc_info)
    finally:
        await plane.stop()
    report.assert_clean()
