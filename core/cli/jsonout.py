"""`--json` on the commands that act: one JSON document on stdout, in one documented shape per
object (the README's "JSON output" lists them), so scripts never parse text.

    Run         the fields of `ps --json`'s items (RunRecord.as_json)
    Plan        run --dry-run --json: name, cluster, cluster_kind, preset, resources, image,
                commands, volumes, ports, env (secrets masked), warnings
    Removed     {"id", "name", "removed": true}
    LogLine     logs --json: one JSON object per line (JSON Lines): {"run", "stream", "line"}
    Check       clusters test --json: {"cluster", "reachable", "message", "capacity"}
    HostKey     clusters trust --json: {"cluster", "state", "key_type", "fingerprint"}
    Revision    every revision action: the fields of `revision list --json`'s items
    Service     revision traffic --json: {"name", "weights", …}
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Iterator
from dataclasses import asdict, is_dataclass
from typing import Any

import click

from core.records import Record


def json_flag(what: str):
    """The `--json` option of a command, bound to `as_json`."""
    return click.option("--json", "as_json", is_flag=True, help=f"Print {what} as JSON (README: JSON output).")


def emit(data: Any) -> None:
    """Print one JSON document (dataclasses and records as their fields)."""
    if is_dataclass(data) and not isinstance(data, type):
        data = asdict(data)
    elif isinstance(data, Record):
        data = data.as_dict()
    click.echo(json.dumps(data, indent=2, default=str))


def log_lines(run_id: str, stream: str, chunks: Iterable[bytes]) -> Iterator[str]:
    """LogLine documents, one per complete line of `chunks` (and the last line without its newline)."""
    rest = b""
    for chunk in chunks:
        rest += chunk
        *lines, rest = rest.split(b"\n")
        for line in lines:
            yield json.dumps({"run": run_id, "stream": stream, "line": line.decode("utf-8", "replace")})
    if rest:
        yield json.dumps({"run": run_id, "stream": stream, "line": rest.decode("utf-8", "replace")})


def quiet_on_broken_pipe() -> None:
    """The reader of our output went away (`… | head`): end quietly, as `ps` does."""
    try:
        sys.stdout = open(os.devnull, "w")
    finally:
        sys.exit(1)
