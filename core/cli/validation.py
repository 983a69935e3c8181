"""What `vessl-tui validate` prints (the click command in `core.cli.spec_cmds` prints it)."""

from __future__ import annotations


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
