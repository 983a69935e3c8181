"""`vessl-tui datasets|models|artifacts list/show/rm`: the registry's stored versions, with size,
source run and age. One click group per kind, made by `registry_group`."""

from __future__ import annotations

import json
import time
from dataclasses import asdict

import click

from core.cli.telling import user_errors
from core.humanize import age, size


def _row(entry, now: float) -> str:
    return (f"{entry.uri:<48} {size(entry.size):>7} {entry.files:>6}  {entry.source_run or '-':<12} "
            f"{age(entry.created_at, now)}")


def registry_group(kind: str) -> click.Group:
    plural = f"{kind}s"

    @click.group(name=plural, help=f"The {plural} of the registry (vessl-{kind}://): list, show, rm.")
    def group() -> None:
        pass

    @group.command("list", help=f"List the stored {plural}, newest first.")
    @click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
    @user_errors
    def list_cmd(as_json: bool) -> None:
        from core.engine import Engine

        entries = Engine().registry_entries(kind)
        if as_json:
            click.echo(json.dumps([{**asdict(e), "uri": e.uri} for e in entries], indent=2))
            return
        if not entries:
            click.echo(f"no {plural} in the registry yet: export to vessl-{kind}://… from a run to add one.")
            return
        now = time.time()
        click.echo(f"{'URI':<48} {'SIZE':>7} {'FILES':>6}  {'SOURCE RUN':<12} AGE")
        for entry in entries:
            click.echo(_row(entry, now))

    @group.command("show")
    @click.argument("ref")
    @user_errors
    def show_cmd(ref: str) -> None:
        """Show one version: REF is org/name[/N] (latest without N) or the full URI."""
        from core.engine import Engine

        entry = Engine().registry_entry(kind, ref)
        now = time.time()
        for label, value in (("uri", entry.uri), ("size", f"{size(entry.size)} ({entry.size} bytes)"),
                             ("files", entry.files), ("source run", entry.source_run or "-"),
                             ("run name", entry.run_name or "-"), ("age", age(entry.created_at, now))):
            click.echo(f"{label + ':':<12} {value}")

    @group.command("rm")
    @click.argument("refs", nargs=-1, required=True)
    @user_errors
    def rm_cmd(refs: tuple[str, ...]) -> None:
        """Remove versions: each REF is org/name/N (or org/name: its latest)."""
        from core.engine import Engine

        engine = Engine()
        for ref in refs:
            click.echo(f"removed {engine.remove_registry_entry(kind, ref).uri}")

    return group


datasets = registry_group("dataset")
models = registry_group("model")
artifacts = registry_group("artifact")
