"""`vessl-tui gpus [--json]`: the GPUs of this machine and of every remote host (SSH clusters, Docker
engines reached over ssh://), one host each, with the run that holds each GPU (the GPU ledger) and
the runs waiting for them. A host without GPUs or out of reach is a line saying so, never an error.
JSON: per host the sample (`core.metrics.HostGpus`), each GPU with `held_by` ({"run_id", "name"} or
null), and the host's `queue` ([{"run_id", "name", "count", "since"}], first come first)."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict

import click

from core.cli.telling import user_errors


def _fmt(value: float | None, unit: str = "", scale: float = 1.0) -> str:
    return "-" if value is None else f"{value / scale:.0f}{unit}"


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of hosts with their GPUs.")
@user_errors
def gpus(as_json: bool) -> None:
    """Show GPUs of this machine and reachable hosts."""
    from core.config import ClusterConfig
    from core.engine import Engine
    from core.metrics import gpu_host_cluster, host_gpus

    engine = Engine()
    remote = [c for c in engine.clusters() if gpu_host_cluster(c) is not None]
    targets = [ClusterConfig(name="local", kind="local")] + remote
    with ThreadPoolExecutor(max_workers=min(8, len(targets))) as pool:
        hosts = list(pool.map(host_gpus, targets))
    ledgers = [engine.gpu_allocation(target) for target in targets]
    if as_json:
        out = []
        for host, ledger in zip(hosts, ledgers):
            data = asdict(host)
            for gpu in data["gpus"]:
                gpu["held_by"] = ledger["holders"].get(gpu["index"])
            out.append({**data, "queue": ledger["queue"]})
        click.echo(json.dumps(out, indent=2))
        return
    for host, ledger in zip(hosts, ledgers):
        if host.state != "ok":
            click.echo(f"{host.host}: {host.message}")
            continue
        click.echo(f"{host.host}: {len(host.gpus)} GPU{'s' if len(host.gpus) != 1 else ''}")
        for gpu in host.gpus:
            mig = " MIG" if gpu.mig else ""
            holder = ledger["holders"].get(gpu.index)
            held = f"  held by run {holder['run_id']} ({holder['name']})" if holder else ""
            click.echo(f"  {gpu.index} {gpu.name}{mig}  {_fmt(gpu.utilization, '%')}  "
                       f"{_fmt(gpu.memory_used_mb, '', 1024)}/{_fmt(gpu.memory_total_mb, 'G', 1024)}  "
                       f"{_fmt(gpu.temperature_c, '°C')}  {_fmt(gpu.power_w, 'W')}{held}")
            for proc in gpu.processes:
                run = f" run {proc.run_id}" if proc.run_id else ""
                click.echo(f"      pid {proc.pid} {proc.name or ''} {_fmt(proc.used_memory_mb, 'M')}{run}".rstrip())
        for waiter in ledger["queue"]:
            click.echo(f"  waiting: run {waiter['run_id']} ({waiter['name']}) for {waiter['count']} "
                       f"GPU{'s' if waiter['count'] != 1 else ''}")
