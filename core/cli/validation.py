"""What `vessl-tui validate` prints, and a click-free way to run its plain form (`validate FILE...
[--json]`, tried first by `core.cli.main`); `spec_cmds.validate`, the click command built from the
same `VALIDATE_OPTIONS`, gives `--help`, usage errors and every other form."""

from __future__ import annotations

import sys

from core.cli.argv import Option, parse
from core.cli.telling import put

VALIDATE_OPTIONS = (Option(("--json",), "as_json", "Print one JSON list, an object per file and document."),)


def report(files: tuple[str, ...] | list[str], as_json: bool) -> tuple[str, int]:
    """(text to print, exit code) of validating `files`: problems compiler-style, then `FILE: ok
    (KIND)` per valid document; or one JSON list. Exit 0 when every document is valid, else 1."""
    from core.humanize import printable
    from core.spec.loader import load_file

    documents = [doc for file in files for doc in load_file(file)]
    if as_json:
        import json

        text = json.dumps([doc.as_json() for doc in documents], indent=2)
    else:
        out = []
        for doc in documents:
            out.extend(problem.format() for problem in doc.problems)
            if doc.valid:
                suffix = f" (document {doc.index + 1})" if doc.index else ""
                out.append(f"{doc.file}{suffix}: ok ({doc.kind})")
        text = printable("\n".join(out))  # names and values from the file never reach the terminal raw
    return text, 0 if all(doc.valid for doc in documents) else 1


def plain_validate(argv: list[str]) -> bool:
    """Run `vessl-tui validate ARGV` without click when ARGV is plain (exits with the verdict's code);
    False (nothing done) otherwise."""
    values = parse(argv, VALIDATE_OPTIONS, arguments=1, more=True)
    if values is None:
        return False
    text, code = report(values["args"], bool(values["as_json"]))  # type: ignore[arg-type]
    put(text + "\n")
    sys.exit(code)
