"""`vessl-tui gpus [--json]`: the GPUs of this machine and of every remote host (SSH clusters, Docker
engines reached over ssh://), one host each.
A host without GPUs or out of reach is a line saying so, never an error."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict

import click

from core.cli.run_cmds import user_errors


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

    remote = [c for c in Engine().clusters() if gpu_host_cluster(c) is not None]
    targets = [ClusterConfig(name="local", kind="local")] + remote
    with ThreadPoolExecutor(max_workers=min(8, len(targets))) as pool:
        hosts = list(pool.map(host_gpus, targets))
    if as_json:
        click.echo(json.dumps([asdict(h) for h in hosts], indent=2))
        return
    for host in hosts:
        if host.state != "ok":
            click.echo(f"{host.host}: {host.message}")
            continue
        click.echo(f"{host.host}: {len(host.gpus)} GPU{'s' if len(host.gpus) != 1 else ''}")
        for gpu in host.gpus:
            mig = " MIG" if gpu.mig else ""
            click.echo(f"  {gpu.index} {gpu.name}{mig}  {_fmt(gpu.utilization, '%')}  "
                       f"{_fmt(gpu.memory_used_mb, '', 1024)}/{_fmt(gpu.memory_total_mb, 'G', 1024)}  "
                       f"{_fmt(gpu.temperature_c, '°C')}  {_fmt(gpu.power_w, 'W')}")
            for proc in gpu.processes:
                run = f" run {proc.run_id}" if proc.run_id else ""
                click.echo(f"      pid {proc.pid} {proc.name or ''} {_fmt(proc.used_memory_mb, 'M')}{run}".rstrip())
