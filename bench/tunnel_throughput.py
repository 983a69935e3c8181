"""Tunnel throughput: SIZE bytes through our SSH tunnel vs through `ssh -L` to the same server.

Starts a private sshd on 127.0.0.1 and a TCP source on the "host" that writes SIZE bytes to each
connection, then reads them all through (a) `core.tunnels` over the shared paramiko connection and
(b) an OpenSSH `ssh -N -L` forward. Prints MB/s of each and ours/baseline (target >= 0.5).
Usage: python bench/tunnel_throughput.py [SIZE_MIB] (default 1024 = 1 GiB).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core import sshconn  # noqa: E402
from core.config import ClusterConfig  # noqa: E402
from core.tunnels import SshTunnel  # noqa: E402
from tests.fixtures.sshd import free_port, running_sshd  # noqa: E402

BLOCK = b"\0" * (1 << 20)


def source(size: int) -> int:
    """A TCP server on 127.0.0.1 writing `size` bytes to every connection; its port."""
    server = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            conn, _ = server.accept()
            with conn:
                left = size
                while left > 0:
                    left -= conn.send(BLOCK[: min(left, len(BLOCK))])

    threading.Thread(target=serve, daemon=True).start()
    return server.getsockname()[1]


def drain(port: int) -> float:
    """Seconds to read everything from 127.0.0.1:port."""
    deadline = time.monotonic() + 20
    while True:
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=60)
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    t = time.perf_counter()
    with sock:
        while sock.recv(1 << 20):
            pass
    return time.perf_counter() - t


def main(mib: int = 1024) -> None:
    size = mib << 20
    target = source(size)
    with running_sshd() as server:
        cluster = ClusterConfig(name="bench", **server.cluster())
        conn = sshconn.connection_for(cluster)
        tunnel = SshTunnel(conn, local_port=None, run_id="bench", remote_port=target, target=("127.0.0.1", target))
        ours = drain(tunnel.local_port)
        assert tunnel.bytes_in == size, tunnel.bytes_in
        tunnel.close()
        sshconn.close_all()
        local = free_port()
        forward = subprocess.Popen(
            ["ssh", "-N", "-p", str(server.port), "-i", str(server.key), "-o", f"UserKnownHostsFile={server.known_hosts}",
             "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-o", "ExitOnForwardFailure=yes",
             "-L", f"127.0.0.1:{local}:127.0.0.1:{target}", f"root@{server.host}"])
        try:
            theirs = drain(local)
        finally:
            forward.terminate()
            forward.wait()
    ours_mbs, theirs_mbs = mib / ours, mib / theirs
    print(f"tunnel throughput, {mib} MiB: vessl-tui {ours_mbs:.0f} MiB/s, ssh -L {theirs_mbs:.0f} MiB/s; "
          f"ratio {ours_mbs / theirs_mbs:.2f}x (target >= 0.5x)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1024)
