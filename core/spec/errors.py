"""Spec problems, reported compiler-style: `FILE:LINE:COL: error: FIELD.PATH: message`."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Literal

    Severity = Literal["error", "warning"]

_FIELDS = ("file", "line", "column", "path", "message", "severity")


class Problem:
    """One problem in a spec file. `line`/`column` are 1-based and point at the offending key or
    value (not its parent); `path` is the dotted field path (`ports[1]`, `resources.gpu`), or ""
    for a problem of the whole document (a YAML syntax error). Immutable; equal (and hashed) by
    its fields."""

    __slots__ = _FIELDS
    file: str
    line: int
    column: int
    path: str
    message: str
    severity: "Severity"

    def __init__(self, file: str, line: int, column: int, path: str, message: str,
                 severity: "Severity" = "error"):
        for name, value in zip(_FIELDS, (file, line, column, path, message, severity)):
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"a Problem is immutable; cannot set {name}")

    def _key(self) -> tuple:
        return (self.file, self.line, self.column, self.path, self.message, self.severity)

    def __eq__(self, other: object) -> bool:
        return other.__class__ is Problem and self._key() == other._key()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return "Problem(" + ", ".join(f"{name}={getattr(self, name)!r}" for name in _FIELDS) + ")"

    def format(self) -> str:
        where = f"{self.path}: " if self.path else ""
        return f"{self.file}:{self.line}:{self.column}: {self.severity}: {where}{self.message}"

    def as_json(self) -> dict:
        """Every field but `file`, by name."""
        return {name: getattr(self, name) for name in _FIELDS[1:]}


class Document:
    """One YAML document of a spec file and what validation made of it.

    `kind` is the detected format (a `runspec.SpecKind` value) or None when undetectable;
    `problems` holds its errors and warnings; `spec` is its `RunSpec`, set only when the document
    has no errors (warnings allowed). A loaded document builds its RunSpec when `spec` is first
    read (`build`): validating a file (the CLI's `validate`, the editor's live check) needs only
    the problems. Should that build fail, which is a bug, reading `spec` raises `SpecError`.
    """

    def __init__(self, file: str, index: int, kind: str | None, spec: "object | None" = None,
                 problems: list[Problem] | None = None, build: "Callable[[], object] | None" = None):
        self.file, self.index, self.kind = file, index, kind
        self.problems = [] if problems is None else problems
        self._spec, self._build = spec, build

    @property
    def spec(self) -> "object | None":
        if self._build is not None:
            self._spec = self._build()  # raises again on each read if it fails
            self._build = None
        return self._spec

    def __repr__(self) -> str:
        return f"Document(file={self.file!r}, index={self.index}, kind={self.kind!r}, problems={self.problems!r})"

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def valid(self) -> bool:
        return not self.errors

    def as_json(self) -> dict:
        return {
            "file": self.file,
            "document": self.index,
            "valid": self.valid,
            "kind": self.kind,
            "errors": [p.as_json() for p in self.errors],
            "warnings": [p.as_json() for p in self.warnings],
        }


class SpecError(Exception):
    """Raised by `load_spec` when a document has errors. `problems` holds every one of them."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(p.format() for p in problems) or "invalid spec")
