"""Cluster and preset commands: `clusters` (list), `clusters test NAME`, `clusters trust NAME`,
`presets`. Errors print one `error:` sentence and exit 1."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict

import click

from core.cli.jsonout import emit, json_flag
from core.cli.telling import fail, user_errors
from core.engine import Engine


@click.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of clusters.")
@click.pass_context
@user_errors
def clusters(ctx: click.Context, as_json: bool) -> None:
    """List clusters (built-in `local`, `docker` when an engine answers, and the config's)."""
    if ctx.invoked_subcommand is not None:
        return
    eng = Engine()
    found = eng.clusters()
    default = eng.config.default_cluster
    if as_json:
        rows = [{**c.model_dump(exclude_defaults=True), "default": c.name == default} for c in found]
        click.echo(json.dumps(rows, indent=2))
        return
    click.echo(f"{'NAME':16} {'KIND':7} {'WHERE':32} DEFAULT")
    for c in found:
        where = c.host or ("this machine" if c.kind in ("local", "slurm") else "-")
        if c.kind == "slurm" and c.login:
            where = f"login {c.login}"
        if c.kind == "ssh" and c.user:
            where = f"{c.user}@{where}"
        click.echo(f"{c.name:16} {c.kind:7} {where[:32]:32} {'*' if c.name == default else ''}".rstrip())


@clusters.command()
@click.argument("name")
@json_flag("the check: cluster, reachable, message, capacity")
@user_errors
def test(name: str, as_json: bool) -> None:
    """Check that cluster NAME answers, and show its capacity."""
    check = Engine().check_cluster(name)
    if as_json:
        emit({"cluster": name, "reachable": check.reachable, "message": check.message,
              "capacity": asdict(check.capacity) if check.capacity else None})
        sys.exit(0 if check.reachable else 1)
    click.echo(f"{name}: {'reachable' if check.reachable else 'unreachable'}: {check.message}")
    cap = check.capacity
    if cap is not None:
        if cap.cpus is not None:
            click.echo(f"  cpus:   {cap.cpus:g}")
        if cap.memory_gb is not None:
            click.echo(f"  memory: {cap.memory_gb:.1f} GB")
        gpus = ", ".join(f"{g.get('index')}: {g.get('name')}" for g in cap.gpus) or "none"
        click.echo(f"  gpus:   {gpus}")
    if not check.reachable:
        sys.exit(1)


@clusters.command()
@click.argument("name")
@click.option("--yes", "-y", is_flag=True, help="Trust without asking.")
@json_flag("the host key: cluster, state, key_type, fingerprint (asks nothing: give --yes to trust)")
@user_errors
def trust(name: str, yes: bool, as_json: bool) -> None:
    """Add the SSH host key of cluster NAME to its known_hosts, after showing its fingerprint."""
    from core.backends.base import HostKeys

    backend = Engine().backend(name)
    if not isinstance(backend, HostKeys):
        fail(f"cluster {name} ({backend.kind}) has no SSH host key to trust.")
    state, key_type, fingerprint = backend.host_key_status()
    if as_json:
        if state == "unknown" and yes:
            backend.trust_host_key()
            state = "trusted"
        emit({"cluster": name, "state": state, "key_type": key_type, "fingerprint": fingerprint})
        sys.exit(1 if state == "changed" else 0)
    if state == "known":
        click.echo(f"{name}: host key {key_type} {fingerprint} is already trusted.")
        return
    if state == "changed":
        fail(
            f"the host key of {name} CHANGED (now {key_type} {fingerprint}); refusing to trust it. "
            "If the change is expected, remove the old key from known_hosts and run this again."
        )
    click.echo(f"{name}: {key_type} {fingerprint}")
    if not yes and not click.confirm("Trust this host key?", default=False):
        fail("host key not trusted.")
    click.echo(f"{name}: trusted {backend.trust_host_key()}")


@click.command()
@click.option("--cluster", "-c", help="Only presets usable on this cluster.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of presets.")
@user_errors
def presets(cluster: str | None, as_json: bool) -> None:
    """List resource presets (`resources.preset: NAME` in a spec)."""
    eng = Engine()
    config = eng.config
    found = eng.cluster_presets(cluster) if cluster else config.presets()
    if as_json:
        click.echo(json.dumps([p.model_dump() for p in found], indent=2))
        return
    if not found:
        click.echo(f"no presets; define them under `presets:` in {config.path}")
        return
    click.echo(f"{'NAME':20} {'CPU':>4} {'MEMORY':8} {'GPU':12} CLUSTER")
    for p in found:
        cpu = "-" if p.cpu is None else f"{p.cpu:g}"
        click.echo(f"{p.name:20} {cpu:>4} {p.memory or '-':8} {str(p.gpu or '-'):12} {p.cluster or 'any'}")
