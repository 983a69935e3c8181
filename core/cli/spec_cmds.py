"""`vessl-tui validate` and `vessl-tui schema`.

validate: prints every problem compiler-style (`spec.yaml:9:5: error: ports[1]: …`), warnings as
`warning:`; exit 0 when every file is valid, 1 when any is invalid, 2 on a usage error.
`--json` prints one list with an object per file and document.
"""

from __future__ import annotations

import json
import sys

import click


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=True))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON list, an object per file and document.")
def validate(files: tuple[str, ...], as_json: bool) -> None:
    """Validate spec files (VESSL run, dstack, VESSL Serve revision)."""
    from core.spec.loader import load_file

    documents = [doc for file in files for doc in load_file(file)]
    if as_json:
        click.echo(json.dumps([doc.as_json() for doc in documents], indent=2))
    else:
        out = []
        for doc in documents:
            out.extend(problem.format() for problem in doc.problems)
            if doc.valid:
                suffix = f" (document {doc.index + 1})" if doc.index else ""
                out.append(f"{doc.file}{suffix}: ok ({doc.kind})")
        click.echo("\n".join(out))
    sys.exit(0 if all(doc.valid for doc in documents) else 1)


@click.command()
@click.argument("fmt", metavar="[vessl|dstack|revision]", default="vessl",
                type=click.Choice(["vessl", "dstack", "revision"]))
def schema(fmt: str) -> None:
    """Print the JSON Schema of a spec format, for editors."""
    from core.spec.schema import json_schema

    click.echo(json.dumps(json_schema(fmt), indent=2))
