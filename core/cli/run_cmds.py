"""Headless run commands: run, ps, logs, stop, rerun, rm, show.

RUN accepts a run id, a unique id prefix or a run name (its latest run). Errors a user can act on
print one `error: …` sentence on stderr and exit 1; nothing here prints a traceback for bad input.
`ps` never imports pydantic: it reads rows and prints (its common forms skip click too: see
`core.cli.listing`).
"""

from __future__ import annotations

import json
import sys
import time

import click

from core.cli.clickopts import options
from core.cli.jsonout import emit, json_flag, log_lines
from core.cli.listing import PS_OPTIONS, engine, ps_lines, run_json
from core.cli.submit import RUN_OPTIONS, follow_to_end, report, stream, submit
from core.cli.telling import fail, user_errors
from core.engine import Engine
from core.humanize import printable


@click.command()
@click.argument("file", type=click.Path(dir_okay=False))
@options(RUN_OPTIONS)
@click.option("--dry-run", is_flag=True, help="Print the plan; start nothing.")
@click.option("--document", "-d", default=0, show_default=True, help="Index of the YAML document in FILE.")
@json_flag("the run (with --dry-run: the plan)")
@user_errors
def run(file: str, cluster: str | None, follow: bool, dry_run: bool, document: int, as_json: bool) -> None:
    """Submit FILE as a run. Prints the run id as the last line and returns, unless --follow."""
    if as_json and follow:
        fail("--json and --follow do not go together: follow with `vessl-tui logs RUN -f --json`.")
    eng = engine()
    if dry_run:
        plan = eng.plan(file, cluster, document)
        if as_json:
            emit(plan)
            return
        for note in plan.warnings:
            click.echo(f"warning: {note}", err=True)
        rows = [
            ("name", plan.name),
            ("cluster", f"{plan.cluster} ({plan.cluster_kind})"),
            ("preset", plan.preset or "-"),
            ("resources", ", ".join(f"{k}={v}" for k, v in plan.resources.items()) or "-"),
            ("image", plan.image or "-"),
            ("ports", ", ".join(map(str, plan.ports)) or "-"),
        ]
        for key, value in rows:
            click.echo(f"{key + ':':11}{value}")
        click.echo("volumes:" + ("" if plan.volumes else "    -"))
        for volume in plan.volumes:
            click.echo(f"  {volume}")
        click.echo("env:" + ("" if plan.env else "        -"))
        for name, value in plan.env.items():
            click.echo(f"  {name}={value}")
        click.echo("commands:")
        for command in plan.commands:
            click.echo("  " + command.replace("\n", "\n  ").rstrip())
        if plan.batch_script:
            click.echo("batch script:")
            click.echo("  " + plan.batch_script.replace("\n", "\n  ").rstrip())
        return
    record = submit(eng, file, cluster, document, follow)
    if as_json:
        emit(run_json(eng, record))
        return
    report(eng, record, follow)


@click.command()
@options(PS_OPTIONS)
@user_errors
def ps(show_all: bool, as_json: bool, labels: tuple[str, ...]) -> None:
    """List runs, newest first."""
    for line in ps_lines(show_all, as_json, labels):
        click.echo(line)


@click.command()
@click.argument("run_ref", metavar="RUN")
@click.option("--follow", "-f", is_flag=True, help="Keep printing until the run ends.")
@click.option("--provisioning", "-p", is_flag=True, help="The provisioning log instead of the output.")
@json_flag("one object per line (JSON Lines: run, stream, line)")
@user_errors
def logs(run_ref: str, follow: bool, provisioning: bool, as_json: bool) -> None:
    """Print a run's log exactly as written."""
    eng = engine()
    record = eng.get(run_ref)
    if as_json:
        chunks = eng.follow_log(record.id, provisioning=provisioning) if follow else _chunks(eng, record.id, provisioning)
        try:
            for line in log_lines(record.id, "provisioning" if provisioning else "output", chunks):
                click.echo(line)
        except KeyboardInterrupt:
            sys.exit(130)
        return
    if follow:
        try:
            stream(eng, record.id, provisioning)
        except KeyboardInterrupt:
            sys.exit(130)
        return
    out = sys.stdout.buffer
    for chunk in _chunks(eng, record.id, provisioning):
        out.write(chunk)
    out.flush()


def _chunks(eng: Engine, run_id: str, provisioning: bool):
    """The log as it is now, in chunks."""
    offset = 0
    while True:
        chunk, offset = eng.read_log(run_id, offset, provisioning)
        if not chunk:
            return
        yield chunk


@click.command()
@click.argument("run_refs", metavar="RUN...", nargs=-1, required=True)
@click.option("--wait/--no-wait", "-w", default=True, show_default=True,
              help="Return once the runs are in a final state (--no-wait: as soon as the stop is asked for).")
@json_flag("a list of the runs")
@user_errors
def stop(run_refs: tuple[str, ...], wait: bool, as_json: bool) -> None:
    """Stop runs (SIGTERM, then SIGKILL after the spec's stop_duration, default 10 s) and, like
    `docker stop`, wait until they have stopped; exit 1 if one is still going after its grace plus
    a margin."""
    eng = engine()
    records = [eng.get(ref) for ref in run_refs]  # every ref checked before anything stops
    deadlines = {}
    say = (lambda _record: None) if as_json else (lambda record: click.echo(f"{record.id} {record.shown_status}"))
    for record in records:
        if not record.final:
            deadlines[record.id] = time.monotonic() + eng.stop_timeout(record.id)
        record = eng.stop(record.id)
        if not wait or record.final:
            say(record)
    late = []
    for record in records:
        if not wait or record.id not in deadlines:
            continue
        waited = deadlines[record.id] - time.monotonic()
        final = eng.wait(record.id, timeout=max(0.0, waited))
        if final.final:
            say(final)
        else:
            late.append(f"run {final.id} did not stop within {eng.stop_timeout(final.id):g} s (its stop_duration "
                        f"plus a margin) and is still {final.shown_status}; `vessl-tui logs {final.id} -p` says "
                        f"what its supervisor is doing.")
    if as_json:
        emit([run_json(eng, eng.get(record.id)) for record in records])
    if late:
        fail(" ".join(late))


@click.command()
@click.argument("run_ref", metavar="RUN")
@click.option("--follow", "-f", is_flag=True, help="Stream the logs and exit with the run's exit code.")
@json_flag("the new run")
@user_errors
def rerun(run_ref: str, follow: bool, as_json: bool) -> None:
    """Run a run's stored spec again; prints the new run id as the last line."""
    eng = engine()
    record = eng.rerun(run_ref)
    if as_json:
        emit(run_json(eng, record))
        return
    if follow:
        follow_to_end(eng, record)
    click.echo(record.id)


@click.command()
@click.argument("run_refs", metavar="RUN...", nargs=-1, required=True)
@click.option("--force", is_flag=True, help="Stop active runs first.")
@json_flag("a list of {id, name, removed}")
@user_errors
def rm(run_refs: tuple[str, ...], force: bool, as_json: bool) -> None:
    """Remove finished runs: their row, logs and folder (exported artifacts stay)."""
    eng = engine()
    records = [eng.get(ref) for ref in run_refs]
    for record in records:
        eng.remove(record.id, force=force)
        if not as_json:
            click.echo(f"{record.id} removed")
    if as_json:
        emit([{"id": r.id, "name": r.name, "removed": True} for r in records])


@click.command()
@click.argument("run_ref", metavar="RUN")
@click.option("--json", "as_json", is_flag=True, help="Print the run and its events as JSON.")
@user_errors
def show(run_ref: str, as_json: bool) -> None:
    """Show one run: its record and its history."""
    eng = engine()
    record = eng.get(run_ref)
    events = eng.events(record.id)
    if as_json:
        data = record.as_json()
        data["events"] = [e.__dict__ for e in events]
        click.echo(json.dumps(data, indent=2))
        return
    for key, value in record.as_json().items():
        if value in (None, [], {}):
            continue
        if key.endswith("_at") and isinstance(value, float):
            value = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(value))
        click.echo(printable(f"{key + ':':16}{value}"))
    click.echo("events:")
    for event in events:
        stamp = time.strftime("%H:%M:%S", time.localtime(event.at))
        click.echo(printable(f"  {stamp} {event.kind:7} {event.status or '':12} {event.message or ''}".rstrip()))
