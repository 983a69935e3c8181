"""Benchmark: both data planes of the service endpoint vs a straight connection to one replica,
measured in the same run.

    python bench/serve_endpoint.py [--seconds 5] [--concurrency 32]

Starts one replica (a small aiohttp server answering "ok") and each data plane of the endpoint
(`core.serve.dataplane`: HAProxy when installed, and the aiohttp proxy), each with one upstream, that
replica, in its own process; then drives the replica directly and through each plane with the same
client:
- latency: sequential requests on one keep-alive connection, p50 and p99;
- throughput: `--concurrency` keep-alive connections for `--seconds`, requests per second.
Each plane is measured right after a direct run of its own, and its ratios are to that run. Targets: the endpoint adds < 1 ms at p50 and
keeps >= 0.8x the throughput of the single replica.

It also prints the CPU time each process spent per request during the throughput runs (client,
replica, endpoint), and the ceiling those costs put on the ratio when every process shares this
machine's cores and all of them are busy: (client + replica) / (client + replica + endpoint). On a
machine with fewer cores than busy processes the measured ratio cannot beat that ceiling, whatever
the endpoint does; with the endpoint on cores of its own the ratio is bounded by its own
requests/s instead (`endpoint alone` below).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

REPLICA = """
import sys
from aiohttp import web
async def ok(request):
    return web.Response(text="ok")
app = web.Application()
app.router.add_get("/", ok)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)
"""

ENDPOINT = """
import asyncio, sys, tempfile
from pathlib import Path
from core.serve.dataplane import start_dataplane
from core.serve.endpoint import Upstream
async def main():
    with tempfile.TemporaryDirectory() as state:
        ep, _ = await start_dataplane(Path(state), int(sys.argv[1]), sys.argv[3])
        ep.publish([Upstream(revision=1, index=0, host="127.0.0.1", port=int(sys.argv[2]))], {1: 1})
        print(ep.name, getattr(ep, "_proc", None) and ep._proc.pid, flush=True)
        await asyncio.Event().wait()
asyncio.run(main())
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int) -> None:
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listens on {port}")


async def latency(url: str, n: int) -> tuple[float, float]:
    import aiohttp

    samples = []
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as session:
        for i in range(n + 50):
            start = time.perf_counter()
            async with session.get(url) as resp:
                await resp.read()
            if i >= 50:  # warm-up
                samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.99) - 1]


def cpu_seconds(pid: int | None = None) -> float:
    """User + system CPU seconds of process `pid` (this process when None)."""
    if pid is None:
        times = os.times()
        return times.user + times.system
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def throughput(url: str, seconds: float, concurrency: int) -> float:
    import aiohttp

    done = 0
    deadline = time.perf_counter() + seconds

    async def worker(session) -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            async with session.get(url) as resp:
                await resp.read()
                done += resp.status == 200

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
        start = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        return done / (time.perf_counter() - start)


def measure(url: str, args, pids: list[int]) -> tuple[float, float, float, list[float]]:
    """p50 and p99 latency (ms), throughput (req/s), CPU us per request of this process and `pids`."""
    p50, p99 = asyncio.run(latency(url, args.latency_requests))
    before = [cpu_seconds(), *(cpu_seconds(pid) for pid in pids)]
    rps = asyncio.run(throughput(url, args.seconds, args.concurrency))
    after = [cpu_seconds(), *(cpu_seconds(pid) for pid in pids)]
    count = rps * args.seconds
    return p50, p99, rps, [1e6 * (a - b) / count for a, b in zip(after, before)]


def start_plane(kind: str, replica_port: int, env: dict) -> tuple[subprocess.Popen, int, int]:
    """A data plane process in front of the replica: (process, its port, pid doing the proxying)."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", ENDPOINT, str(port), str(replica_port), kind], env=env,
                            stdout=subprocess.PIPE, text=True)
    name, child = proc.stdout.readline().split()
    if name != kind:
        raise SystemExit(f"asked for the {kind} data plane, got {name}")
    wait_port(port)
    return proc, port, int(child) if child != "None" else proc.pid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--latency-requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=1, help="measure each plane this many times (a busy machine drifts)")
    args = parser.parse_args()

    env = dict(os.environ, PYTHONPATH=str(ROOT))
    replica_port = free_port()
    replica = subprocess.Popen([sys.executable, "-c", REPLICA, str(replica_port)], env=env)
    procs = [replica]
    rows = {}
    try:
        wait_port(replica_port)
        kinds = (["haproxy"] if shutil.which("haproxy") else []) + ["aiohttp"]
        for kind in kinds:  # each plane right after a direct run of its own: a noisy machine drifts
            proc, port, worker = start_plane(kind, replica_port, env)
            procs.append(proc)
            rows[kind] = [(measure(f"http://127.0.0.1:{replica_port}/", args, [replica.pid]),
                           measure(f"http://127.0.0.1:{port}/", args, [replica.pid, worker])) for _ in range(args.rounds)]
            proc.terminate()
            proc.wait()
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait()
    print(f"cpus: {os.cpu_count()}  concurrency: {args.concurrency}  seconds: {args.seconds:g}")
    for kind, measured in rows.items():
        for direct, plane in measured:
            report(kind, direct, plane)
        if len(measured) > 1:
            ratios = sorted(plane[2] / direct[2] for direct, plane in measured)
            cpu = sorted(plane[3][2] for _, plane in measured)
            print(f"{kind:<12} throughput ratio over {len(measured)} rounds (min / median / max): "
                  f"{ratios[0]:.2f} / {statistics.median(ratios):.2f} / {ratios[-1]:.2f}x; endpoint CPU per request "
                  f"{cpu[0]:.0f} / {statistics.median(cpu):.0f} / {cpu[-1]:.0f} us")


def report(kind: str, direct, plane) -> None:
    d50, d99, drps, _ = direct
    e50, e99, erps, (client_us, replica_us, endpoint_us) = plane
    print(f"{'direct':<12} latency p50 {d50:.3f} ms  p99 {d99:.3f} ms  throughput {drps:,.0f} req/s")
    ceiling = (client_us + replica_us) / (client_us + replica_us + endpoint_us)
    print(f"{kind:<12} latency p50 {e50:.3f} ms (added {e50 - d50:+.3f} ms, target < 1 ms)  "
          f"p99 {e99:.3f} ms ({e99 / d99:.2f}x)")
    print(f"{'':<12} throughput {erps:,.0f} req/s = {erps / drps:.2f}x direct (target >= 0.8x)")
    print(f"{'':<12} cpu/request client {client_us:.0f} us  replica {replica_us:.0f} us  endpoint "
          f"{endpoint_us:.0f} us -> shared-cores ceiling {ceiling:.2f}x; endpoint alone "
          f"{1e6 / endpoint_us:,.0f} req/s per core = {1e6 / endpoint_us / drps:.2f}x the direct figure")

if __name__ == "__main__":
    main()
