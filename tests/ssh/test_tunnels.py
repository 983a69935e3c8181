"""Tunnels over the shared SSH connection to a server inside a run, through a cut connection."""

from __future__ import annotations

import socket
import time
import urllib.request

from core.tunnels import TunnelManager, listen_local
from tests.fixtures.sshd import free_port
from tests.ssh.conftest import spec_of


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode()


def _http_run(start_run):
    port = free_port()
    run = start_run(spec_of(f"echo served-from-the-run > index.txt; exec python3 -m http.server {port} --bind 127.0.0.1"))
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert time.monotonic() < deadline, "the run's server never listened"
            time.sleep(0.1)
    return run, port


def test_tunnel_carries_http_and_comes_back_after_the_link_is_cut(start_run, backend, sshd) -> None:
    run, port = _http_run(start_run)
    manager = TunnelManager()
    try:
        tunnel = manager.open(backend, run.ctx, run.handle, port)
        assert tunnel.kind == "ssh" and tunnel.state == "open"
        assert _get(f"{tunnel.url}/index.txt") == "served-from-the-run\n"
        assert tunnel.bytes_in > 0 and tunnel.bytes_out > 0
        assert sshd.kill_connections() >= 1
        deadline = time.monotonic() + 30
        while tunnel.reconnects < 1 or tunnel.state != "open":
            assert time.monotonic() < deadline, f"tunnel did not come back: {tunnel.state} {tunnel.message}"
            time.sleep(0.1)
        assert _get(f"{tunnel.url}/index.txt") == "served-from-the-run\n"
        assert manager.list(run.ctx.run_id) == [tunnel]
        assert manager.open(backend, run.ctx, run.handle, port) is tunnel
    finally:
        manager.close_all()
        backend.stop(run.ctx, run.handle, grace=2)
    assert manager.list() == [] and tunnel.state == "closed"


def test_busy_local_port_gets_a_free_one(start_run, backend) -> None:
    run, port = _http_run(start_run)
    busy = listen_local(None)
    manager = TunnelManager()
    try:
        wished = busy.getsockname()[1]
        tunnel = manager.open(backend, run.ctx, run.handle, port, local_port=wished)
        assert tunnel.local_port != wished
        assert _get(f"{tunnel.url}/index.txt") == "served-from-the-run\n"
    finally:
        busy.close()
        manager.close_all()
        backend.stop(run.ctx, run.handle, grace=2)


def test_tunnel_to_a_closed_port_refuses_the_connection_not_the_tunnel(start_run, backend) -> None:
    run = start_run(spec_of("sleep 5"))
    manager = TunnelManager()
    try:
        tunnel = manager.open(backend, run.ctx, run.handle, free_port())
        with socket.create_connection(("127.0.0.1", tunnel.local_port), timeout=10) as sock:
            sock.settimeout(10)
            assert sock.recv(10) == b""  # closed: nothing listens there on the host
        assert tunnel.state == "open" and "listening" in tunnel.message
    finally:
        manager.close_all()
        backend.stop(run.ctx, run.handle, grace=1)
