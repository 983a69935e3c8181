"""The HAProxy data plane: its pure parts (slots, weights, runtime commands, rates), then a real
HAProxy child outgrowing its configuration, replacing a stale one, and failing in one sentence."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import stat
import threading

import aiohttp
import pytest

from core.serve.dataplane import DATAPLANE_ENV, requested_plane, start_dataplane
from core.serve.endpoint import Endpoint, Upstream
from core.serve.haproxy import HaproxyEndpoint, HaproxyError
from core.serve.haproxy_conf import (
    Layout, RequestCounts, Server, Slots, Table, commands, data_plane_threads, effective_weights, integer_weights,
    render, route_for,
)
from core.serve.models import ServeError

needs_haproxy = pytest.mark.skipif(shutil.which("haproxy") is None, reason="haproxy is not installed")


# pure parts ----------------------------------------------------------------------------------------
def test_slots_are_stable_and_reused_lowest_first() -> None:
    slots = Slots()
    assert slots.place([(1, 0), (1, 1), (2, 0)]) == (2, 2)
    assert slots.slot_of == {(1, 0): (0, 0), (1, 1): (0, 1), (2, 0): (1, 0)}
    assert slots.place([(1, 1), (2, 0), (3, 0)]) == (3, 2)  # replica 1 keeps slot 1 while slot 0 is free
    assert slots.slot_of[(1, 1)] == (0, 1) and slots.slot_of[(3, 0)] == (2, 0)
    assert slots.place([(2, 0), (3, 0), (4, 0), (4, 1)]) == (3, 2)  # revision 4 takes the freed backend 0
    assert slots.backend_of[4] == 0 and slots.revision_of(0) == 4


@pytest.mark.parametrize(("weights", "serving", "expected"), [
    ({1: 90, 2: 10}, {1, 2}, {1: 90, 2: 10}),
    ({1: 90, 2: 10}, {2}, {2: 10}),          # a weighted revision with no replica is skipped
    ({1: 1}, {2, 3}, {2: 1.0, 3: 1.0}),      # nothing weighted serves: whatever does shares
    ({1: 1}, set(), {}),
])
def test_effective_weights(weights, serving, expected) -> None:
    assert effective_weights(weights, serving) == expected


def test_integer_weights_keep_proportions_within_haproxy_range() -> None:
    assert integer_weights({0: 90, 1: 10}) == {0: 90, 1: 10}
    assert integer_weights({0: 0.5, 1: 0.25}) == {0: 256, 1: 128}
    assert integer_weights({0: 1000, 1: 1}) == {0: 256, 1: 1}


def test_route_goes_straight_to_one_backend_and_splits_between_several() -> None:
    assert route_for({}) == "none"
    assert route_for({2: 5}) == "b2"
    assert route_for({0: 9, 2: 1}) == "split"


def test_commands_change_only_what_changed() -> None:
    old = Table({(0, 0): Server("127.0.0.1", 9000), (0, 1): Server("127.0.0.1", 9001)}, "b0", {0: 1})
    new = Table({(0, 0): Server("127.0.0.1", 9000, draining=True), (0, 2): Server("127.0.0.1", 9002),
                 (1, 0): Server("127.0.0.1", 9100)}, "split", {0: 9, 1: 1})
    assert commands(old, new) == [
        "set server b0/s1 state maint",
        "set weight b0/s0 0",
        "set server b0/s2 addr 127.0.0.1 port 9002", "set weight b0/s2 1", "set server b0/s2 state ready",
        "set server b1/s0 addr 127.0.0.1 port 9100", "set weight b1/s0 1", "set server b1/s0 state ready",
        "set weight split/in0 9", "set weight split/in1 1",
        "set map route.map route split",
    ]
    assert commands(new, new) == []


def test_layout_grows_by_doubling() -> None:
    assert Layout(4, 16).grown(3, 17) == Layout(4, 32)
    assert Layout(4, 16).grown(9, 2) == Layout(16, 16)


def test_request_rates_survive_a_restarted_counter() -> None:
    counts = RequestCounts()
    counts.observe(0, 7, 100, now=0.0)
    counts.observe(0, 7, 150, now=5.0)
    counts.observe(0, 7, 20, now=10.0)  # a new process counts from 0 again
    assert counts.total[7] == 170
    assert counts.rps(7, window=5.0, now=10.0) == pytest.approx(20 / 5)  # 150 -> 170 over the last 5 s
    counts.observe(1, None, 40, now=10.0)  # a backend no revision holds counts for nobody
    assert set(counts.total) == {7}


def test_threads_are_sized_to_the_machine() -> None:
    assert [data_plane_threads(cpus) for cpus in (1, 2, 4, 8, 16, 64, 256)] == [1, 1, 1, 2, 4, 16, 16]
    text = render(Layout(1, 1), Table(), listen_fd=3, internal="x", threads=3)
    assert "  nbthread 3\n" in text and "  http-reuse always\n" in text


def test_unknown_plane_is_one_sentence(monkeypatch) -> None:
    monkeypatch.setenv(DATAPLANE_ENV, "nginx")
    with pytest.raises(ServeError, match=r"^VESSL_TUI_DATAPLANE=nginx is not a data plane; set it to auto, "
                                         r"haproxy or aiohttp\.$"):
        requested_plane()


# a real HAProxy ------------------------------------------------------------------------------------
class Hammer(threading.Thread):
    """GETs on fresh connections from a thread until stopped; records every status that is not 200."""

    def __init__(self, port: int):
        super().__init__(daemon=True)
        self.port, self.halt, self.failures, self.ok = port, threading.Event(), [], 0

    def run(self) -> None:
        import http.client

        while not self.halt.is_set():
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            try:
                conn.request("GET", "/")
                resp = conn.getresponse()
                resp.read()
                self.ok += resp.status == 200
                if resp.status != 200:
                    self.failures.append(resp.status)
            except OSError as exc:
                self.failures.append(repr(exc))
            finally:
                conn.close()


@needs_haproxy
async def test_outgrowing_the_slots_swaps_processes_without_a_failed_request(replica_procs, tmp_path) -> None:
    ports = [replica_procs(1, i)[1] for i in range(3)] + [replica_procs(2, 0)[1]]
    ep = HaproxyEndpoint(tmp_path / "endpoint", layout=Layout(backends=1, slots=2))
    await ep.start()
    hammer = Hammer(ep.port)
    try:
        ep.publish([Upstream(1, i, "127.0.0.1", p) for i, p in enumerate(ports[:2])], {1: 1})
        first = ep._proc.pid
        hammer.start()
        await asyncio.sleep(0.3)
        ups = [Upstream(1, i, "127.0.0.1", p) for i, p in enumerate(ports[:3])] + [Upstream(2, 0, "127.0.0.1", ports[3])]
        ep.publish(ups, {1: 1, 2: 1})  # three replicas and a second revision: a larger configuration
        await asyncio.sleep(0.5)
    finally:
        hammer.halt.set()
        await asyncio.to_thread(hammer.join)
    try:
        assert ep._proc.pid != first and hammer.ok > 0 and hammer.failures == []
        async with aiohttp.ClientSession() as session:
            bodies = [await (await session.get(ep.url)).text() for _ in range(40)]
        assert {" ".join(b.split()[:2]) for b in bodies} == {
            "rev=1 replica=0", "rev=1 replica=1", "rev=1 replica=2", "rev=2 replica=0"}
        assert stat.S_IMODE(os.stat(tmp_path / "endpoint" / "api.sock").st_mode) == 0o600
    finally:
        await ep.stop()
    assert not (tmp_path / "endpoint" / "haproxy.pid").exists()


@needs_haproxy
async def test_requests_on_new_client_connections_reuse_the_connection_to_the_replica(replica_procs, tmp_path) -> None:
    port = replica_procs(1, 0)[1]
    ep = HaproxyEndpoint(tmp_path / "endpoint")
    await ep.start()
    try:
        ep.publish([Upstream(1, 0, "127.0.0.1", port)], {1: 1})
        for _ in range(30):  # each on a connection of its own, as many short-lived clients do
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as session:
                assert (await session.get(ep.url)).status == 200
        row = next(r for (proxy, server), r in ep._stat(4).items() if proxy.startswith("b") and server == "s0")
        assert int(row["reuse"]) >= 25 and int(row["connect"]) <= 5, row  # one replica connection, reused
    finally:
        await ep.stop()


@needs_haproxy
async def test_a_new_plane_replaces_the_haproxy_a_dead_keeper_left(tmp_path) -> None:
    stale = HaproxyEndpoint(tmp_path / "endpoint")
    await stale.start()
    port, proc = stale.port, stale._proc
    stale._sock.close()  # what a killed keeper leaves: only its HAProxy holds the port
    stale._watch.cancel()
    fresh = HaproxyEndpoint(tmp_path / "endpoint", port=port)
    await fresh.start()
    try:
        assert proc.wait(timeout=5) is not None and fresh._proc.poll() is None
    finally:
        await fresh.stop()


@pytest.mark.parametrize("kind", ["aiohttp", pytest.param("haproxy", marks=needs_haproxy)])
async def test_a_taken_port_is_an_os_error_on_both_planes(kind, tmp_path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(OSError):
            await start_dataplane(tmp_path / "endpoint", port, kind)


async def test_forced_haproxy_that_is_missing_is_one_sentence(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ServeError) as caught:
        await start_dataplane(tmp_path / "endpoint", 0, "haproxy")
    assert str(caught.value) == ("haproxy is not installed (apt-get install haproxy); install it, or set "
                                 "VESSL_TUI_DATAPLANE=aiohttp.")
    plane, notes = await start_dataplane(tmp_path / "endpoint", 0, "auto")
    try:
        assert isinstance(plane, Endpoint) and notes == []  # simply absent: the normal case, nothing to say
    finally:
        await plane.stop()


async def test_auto_falls_back_to_aiohttp_from_a_broken_haproxy(monkeypatch, tmp_path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    old = bin_dir / "haproxy"
    old.write_text("#!/bin/sh\necho 'HA-Proxy version 1.8.19 2019/02/11'\n")
    old.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    plane, notes = await start_dataplane(tmp_path / "endpoint", 0, "auto")
    try:
        assert isinstance(plane, Endpoint)
        assert notes == ["haproxy 1.8 is too old; the endpoint needs 2.2 or newer; the aiohttp data plane "
                         "serves instead."]
    finally:
        await plane.stop()


@needs_haproxy
async def test_haproxy_that_refuses_to_start_says_why(tmp_path) -> None:
    real = shutil.which("haproxy")
    wrapper = tmp_path / "haproxy"  # the real HAProxy, also handed a configuration file that is not there
    wrapper.write_text(f'#!/bin/sh\nexec {real} "$@" -f /nonexistent/extra.cfg\n')
    wrapper.chmod(0o755)
    ep = HaproxyEndpoint(tmp_path / "endpoint", binary=str(wrapper))
    with pytest.raises(HaproxyError) as caught:
        await ep.start()
    assert str(caught.value).startswith("haproxy could not start: ") and "/nonexistent/extra.cfg" in str(caught.value)
