"""The spec language: VESSL run YAML, dstack configurations and VESSL Serve revisions.

Public API (stable; the engine, the CLI and the editor code against it):

- `load_text(text, file="<string>") -> list[Document]`: every YAML document, validated; each has
  `kind`, `problems` (errors and warnings, sorted by position) and `spec` (a `RunSpec` when valid).
- `load_file(path) -> list[Document]`: never raises; an unreadable file is one Document with a problem.
- `load_spec(path, document=0) -> RunSpec`: raises `SpecError` carrying every problem.
- `field_help(kind, path) -> str | None`: the description of a field, e.g. ("dstack-task", "resources.gpu").
- `json_schema(fmt) -> dict` for fmt in vessl | dstack | revision.
- `templates() -> dict[str, str]`: starter specs by name, each valid and runnable on `local`.

Modules load on first use, so importing `core.spec` costs nothing until a spec is read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.spec.errors import Document, Problem, SpecError

if TYPE_CHECKING:
    from core.spec.runspec import RunSpec

__all__ = ["Document", "Problem", "SpecError", "field_help", "json_schema", "load_file", "load_spec",
           "load_text", "templates"]


def _loader():
    """core.spec.loader, imported on first use (with PyYAML and pydantic) and kept at hand after."""
    global _LOADER
    if _LOADER is None:
        from core.spec import loader

        _LOADER = loader
    return _LOADER


_LOADER = None


def load_text(text: str, file: str = "<string>") -> list[Document]:
    return _loader().load_text(text, file)


def load_file(path) -> list[Document]:
    return _loader().load_file(path)


def load_spec(path, document: int = 0) -> "RunSpec":
    return _loader().load_spec(path, document)


def field_help(kind: str, path: str) -> str | None:
    from core.spec.schema import field_help as _field_help

    return _field_help(kind, path)


def json_schema(fmt: str) -> dict:
    from core.spec.schema import json_schema as _json_schema

    return _json_schema(fmt)


def templates() -> dict[str, str]:
    from core.spec.schema import templates as _templates

    return _templates()
