"""What `vessl-tui validate` prints, and a click-free way to run its plain forms.

`quick_validate` runs `validate FILE... [--json]` without importing click, which `core.cli.main`
tries first so that a cold `vessl-tui validate spec.yaml` does not pay for it; any other argv (help,
an unknown option, a file name starting with `-`, no file) goes to the click command in
`core.cli.spec_cmds`, which prints the same report through `report`.
"""

from __future__ import annotations

import sys


def report(files: tuple[str, ...] | list[str], as_json: bool) -> tuple[str, int]:
    """(text to print, exit code) of validating `files`: problems compiler-style, then `FILE: ok
    (KIND)` per valid document; or one JSON list. Exit 0 when every document is valid, else 1."""
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
        text = "\n".join(out)
    return text, 0 if all(doc.valid for doc in documents) else 1


def quick_validate(argv: list[str]) -> bool:
    """Run `vessl-tui validate ARGV` when ARGV is files and `--json` only (exits with the report's
    code); False, having done nothing, for any other form."""
    files = [arg for arg in argv if arg != "--json"]
    if not files or any(arg.startswith("-") for arg in files):
        return False
    text, code = report(files, "--json" in argv)
    try:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        code = 1
    sys.exit(code)
