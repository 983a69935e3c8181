"""`vessl-tui revision …`: serve revisions from the shell.

    create FILE [--service NAME] [--cluster NAME] [--start] [--port N]
    list [--json]                 number, service, status, replicas (ready/desired), endpoint URL and
                                  the data plane serving it (haproxy or aiohttp)
    show REV [--json]             one revision with its replicas and recent events
    start REV [--port N] | stop REV | scale REV N | reproduce REV | delete REV [--force]
    traffic SERVICE REV=WEIGHT…   split the endpoint's traffic (no pairs: newest running takes all)
    logs REV [--replica K] [-f]

REV is a revision number, or SERVICE:NUMBER when several services have that number. Every action
returns at once (the service's keeper process does the work). Errors print one sentence, exit 1.
"""

from __future__ import annotations

import functools
import json
import sys
import time

import click

from core.cli.jsonout import emit, json_flag, log_lines


def _friendly(fn):
    """Turn errors a user can fix into one `error:` line and exit status 1."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from core.engine import EngineError
        from core.serve.models import ServeError
        from core.spec.errors import SpecError

        try:
            return fn(*args, **kwargs)
        except BrokenPipeError:  # `revision show 3 | head`: end quietly
            from core.cli.jsonout import quiet_on_broken_pipe

            quiet_on_broken_pipe()
        except SpecError as exc:
            for problem in exc.problems:
                click.echo(problem.format(), err=True)
        except (ServeError, EngineError) as exc:
            click.echo(f"error: {exc}", err=True)
        except OSError as exc:
            click.echo(f"error: {exc.strerror or exc}: {getattr(exc, 'filename', '') or ''}".rstrip(": "), err=True)
        sys.exit(1)

    return wrapper


def _said(rev, as_json: bool, text: str) -> None:
    """A revision action's answer: the Revision as JSON (an item of `list --json`), or its line of text."""
    if as_json:
        emit(_actions().describe(rev))
    else:
        click.echo(text)


def _actions():
    from core.serve.actions import ServeActions

    return ServeActions()


service_option = click.option("--service", "-s", default=None, help="Service of the revision.")


@click.group()
def revision() -> None:
    """Serve revisions: create, list, start, stop, scale, reproduce, delete, traffic, logs."""


@revision.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--service", "-s", default=None, help="Service name (default: the spec's name).")
@click.option("--cluster", default=None, help="Cluster the replicas run on (default: local).")
@click.option("--start", "start_now", is_flag=True, help="Start the revision at once (launch immediately).")
@click.option("--port", type=int, default=None, help="Port of the service's endpoint (default: a free one).")
@json_flag("the revision")
@_friendly
def create(file: str, service: str | None, cluster: str | None, start_now: bool, port: int | None,
           as_json: bool) -> None:
    """Create a revision from a spec file (VESSL revision or dstack service)."""
    actions = _actions()
    rev = actions.create(file, service=service, cluster=cluster)
    if start_now:
        rev = actions.start(rev, port=port)
    _said(rev, as_json, f"{rev.service}:{rev.number} {rev.status}")


@revision.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of revisions.")
@_friendly
def list_(as_json: bool) -> None:
    """List revisions, newest first per service."""
    actions = _actions()
    actions.reconcile()
    rows = actions.listing()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no revisions: create one with `vessl-tui revision create FILE`")
        return
    click.echo(f"{'SERVICE':<16} {'REV':>4}  {'STATUS':<9} {'REPLICAS':<9} {'AUTOSCALE':<12} {'ENDPOINT':<28} "
               f"{'PLANE':<8} MESSAGE")
    for r in rows:
        click.echo(f"{r['service'][:16]:<16} {r['number']:>4}  {r['status']:<9} {r['replicas']:<9} "
                   f"{r['autoscale']:<12} {r['endpoint'] or '-':<28} {r['dataplane'] or '-':<8} {r['message'] or ''}")


@revision.command()
@click.argument("rev")
@service_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@_friendly
def show(rev: str, service: str | None, as_json: bool) -> None:
    """Show a revision: replicas (status, port, restarts) and its recent events."""
    actions = _actions()
    r = actions.resolve(rev, service)
    replicas = actions.store.replicas(r.service, r.number)
    events = actions.store.events(r.service, r.number)[-20:]
    if as_json:
        data = r.as_json()
        data["replicas"] = [x.as_json() for x in replicas]
        data["events"] = [{"at": e.at, "kind": e.kind, "message": e.message} for e in events]
        click.echo(json.dumps(data, indent=2))
        return
    click.echo(f"{r.service}:{r.number} {r.status}  {r.ready}/{r.desired} ready  "
               f"{r.min_replicas}..{r.max_replicas}  {r.autoscale_label}  {r.message or ''}")
    if r.reason:
        click.echo(f"reason: {r.reason}")
    for x in replicas:
        reached = f" at {x.address}" if x.address and x.address != f"127.0.0.1:{x.port}" else ""
        click.echo(f"  replica {x.index}  {x.status:<10} port {x.port or '-'}{reached}  restarts {x.restarts}  "
                   f"run {x.run_id or '-'}  {x.last_exit or ''}")
    for e in events:
        click.echo(f"  {time.strftime('%H:%M:%S', time.localtime(e.at))} {e.kind:<8} {e.message}")


@revision.command()
@click.argument("rev")
@service_option
@click.option("--port", type=int, default=None, help="Port of the service's endpoint (default: a free one).")
@json_flag("the revision")
@_friendly
def start(rev: str, service: str | None, port: int | None, as_json: bool) -> None:
    """Start a revision's replicas and the service's endpoint."""
    r = _actions().start(rev, service, port=port)
    _said(r, as_json, f"{r.service}:{r.number} {r.status}")


@revision.command()
@click.argument("rev")
@service_option
@json_flag("the revision")
@_friendly
def stop(rev: str, service: str | None, as_json: bool) -> None:
    """Stop a revision (its replicas drain, then stop)."""
    r = _actions().stop(rev, service)
    _said(r, as_json, f"{r.service}:{r.number} {r.status}")


@revision.command()
@click.argument("rev")
@click.argument("replicas", type=int)
@service_option
@json_flag("the revision")
@_friendly
def scale(rev: str, replicas: int, service: str | None, as_json: bool) -> None:
    """Run REPLICAS replicas of a running revision (within its min..max)."""
    r = _actions().scale(rev, replicas, service)
    _said(r, as_json, f"{r.service}:{r.number} {r.status} -> {r.desired} replicas")


@revision.command()
@click.argument("rev")
@service_option
@json_flag("the new revision")
@_friendly
def reproduce(rev: str, service: str | None, as_json: bool) -> None:
    """Create a new revision with the same spec."""
    r = _actions().reproduce(rev, service)
    _said(r, as_json, f"{r.service}:{r.number} {r.status}")


@revision.command()
@click.argument("rev")
@service_option
@click.option("--force", is_flag=True, help="Stop the revision first when it is running.")
@json_flag("the deleted revision")
@_friendly
def delete(rev: str, service: str | None, force: bool, as_json: bool) -> None:
    """Delete a revision (a running one only with --force)."""
    r = _actions().delete(rev, service, force=force)
    _said(r, as_json, f"{r.service}:{r.number} deleted")


@revision.command()
@click.argument("service")
@click.argument("weights", nargs=-1)
@json_flag("the service")
@_friendly
def traffic(service: str, weights: tuple[str, ...], as_json: bool) -> None:
    """Split SERVICE's traffic: `traffic echo 3=90 2=10`; no pairs = newest running revision."""
    from core.serve.models import ServeError

    parsed: dict[int, float] = {}
    for pair in weights:
        number, _, weight = pair.partition("=")
        try:
            parsed[int(number)] = float(weight)
        except ValueError:
            raise ServeError(f"{pair!r} is not REVISION=WEIGHT (e.g. 3=90).") from None
    svc = _actions().set_traffic(service, parsed)
    if as_json:
        emit(svc.as_json())
        return
    split = " ".join(f"{n}={w:g}" for n, w in svc.weights.items()) or "newest running revision"
    click.echo(f"{svc.name}: {split}")


@revision.command()
@click.argument("rev")
@service_option
@click.option("--replica", "-r", "replica", type=int, default=0, show_default=True, help="Replica index.")
@click.option("--follow", "-f", is_flag=True, help="Keep printing until the replica's run ends.")
@json_flag("one object per line (JSON Lines: run, stream, line)")
@_friendly
def logs(rev: str, service: str | None, replica: int, follow: bool, as_json: bool) -> None:
    """Print a replica's log (its current run)."""
    from core.cli.run_cmds import _chunks
    from core.engine import Engine

    run_id = _actions().replica_run(rev, replica, service)
    engine = Engine()
    if as_json:
        chunks = engine.follow_log(run_id) if follow else _chunks(engine, run_id, False)
        for line in log_lines(run_id, "output", chunks):
            click.echo(line)
        return
    out = sys.stdout.buffer
    if follow:
        for chunk in engine.follow_log(run_id):
            out.write(chunk)
            out.flush()
        return
    offset = 0
    while True:
        chunk, offset = engine.read_log(run_id, offset)
        if not chunk:
            break
        out.write(chunk)
    out.flush()
