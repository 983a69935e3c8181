"""`vessl-tui validate` and `vessl-tui schema`.

validate: prints every problem compiler-style (`spec.yaml:9:5: error: ports[1]: …`), warnings as
`warning:`; exit 0 when every file is valid, 1 when any is invalid, 2 on a usage error.
`--json` prints one list with an object per file and document.
"""

from __future__ import annotations

import json
import sys

import click

from core.cli.clickopts import options
from core.cli.validation import VALIDATE_OPTIONS, report


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=True))
@options(VALIDATE_OPTIONS)
def validate(files: tuple[str, ...], as_json: bool) -> None:
    """Validate spec files (VESSL run, dstack, VESSL Serve revision)."""
    text, code = report(files, as_json)
    click.echo(text)
    sys.exit(code)


@click.command()
@click.argument("fmt", metavar="[vessl|dstack|revision]", default="vessl",
                type=click.Choice(["vessl", "dstack", "revision"]))
def schema(fmt: str) -> None:
    """Print the JSON Schema of a spec format, for editors."""
    from core.spec.schema import json_schema

    click.echo(json.dumps(json_schema(fmt), indent=2))
