"""`vessl-tui metrics RUN...`: the series each run reported (parsed from its log, or written to
`$VESSL_TUI_METRICS`), as a summary table, JSON or CSV."""

from __future__ import annotations

import csv
import json
import math
import sys

import click

from core.cli.listing import engine
from core.cli.telling import user_errors


def _number(value: float) -> float | int | None:
    """JSON has no NaN: a NaN or infinite value prints as null; whole steps print as integers."""
    if math.isnan(value) or math.isinf(value):
        return None
    return int(value) if float(value).is_integer() and abs(value) < 2**53 else value


@click.command()
@click.argument("run_refs", metavar="RUN...", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Every point: {run: {metric: {steps, values}}}.")
@click.option("--csv", "as_csv", is_flag=True, help="Every point as CSV: run,metric,step,value.")
@user_errors
def metrics(run_refs: tuple[str, ...], as_json: bool, as_csv: bool) -> None:
    """Print the metric series of runs (default: one line per metric: points, last, min, max)."""
    if as_json and as_csv:
        raise click.UsageError("choose one of --json and --csv.")
    eng = engine()
    records = [eng.get(ref) for ref in run_refs]  # every ref checked before anything prints
    if as_csv:
        out = csv.writer(sys.stdout, lineterminator="\n")
        out.writerow(["run", "metric", "step", "value"])
        for record in records:
            for name, step, value in eng.metric_points(record.id):
                out.writerow([record.id, name, _number(step), repr(float(value))])
        return
    if as_json:
        data: dict[str, dict[str, dict[str, list]]] = {}
        for record in records:
            series = data.setdefault(record.id, {})
            for name, step, value in eng.metric_points(record.id):
                entry = series.setdefault(name, {"steps": [], "values": []})
                entry["steps"].append(_number(step))
                entry["values"].append(_number(value))
        click.echo(json.dumps(data))
        return
    for record in records:
        reader = eng.curves(record.id, settled=True)
        while reader.poll():
            pass
        found = reader.series()
        click.echo(f"{record.id} {record.name} ({record.status}): "
                   f"{len(found)} metric{'s' if len(found) != 1 else ''}")
        if found:
            click.echo(f"  {'METRIC':24} {'POINTS':>7} {'LAST':>12} {'MIN':>12} {'MAX':>12}")
        for name, s in found.items():
            click.echo(f"  {name[:24]:24} {s.count:>7} {_fmt(s.last):>12} {_fmt(s.min):>12} {_fmt(s.max):>12}")


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.6g}"
