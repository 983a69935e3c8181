"""YAML with positions: plain Python values plus the line/column of every key and value.

`parse(text)` turns every document into plain dicts/lists/scalars and records `path -> (line, col)`
(1-based) for each key and each value. A path is a tuple of keys and list indexes: `("ports", 1)`.
Scalars are typed as PyYAML's SafeLoader types them (YAML 1.1: `yes` is true, `0o17` is 15, ...).

The C reader `core.spec._yamlc` (built from `_yamlc.c` where gcc and libyaml-dev exist) reads
plain specs straight from libyaml's event stream. Everything it is unsure of (syntax errors,
anchors, aliases, tags, merge keys, complex keys, huge or deep streams), or every stream where it is
not built, goes to `core.spec.yamllib`, which reads through PyYAML: libyaml's event stream in one
pass, or, for anchors, aliases, merge keys, complex keys, huge or deep streams, PyYAML's composer,
which handles all of YAML and guards against alias bombs. All paths give the same result.

It never raises for bad input: syntax errors, alias bombs, deep nesting, oversized or non-UTF-8
input come back as a `ParsedDocument` with `error` set to `(line, col, message)`.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

MAX_BYTES = 2 * 1024 * 1024
MAX_NODES = 200_000
MAX_DEPTH = 200

Path = tuple  # tuple[str | int, ...]
Pos = tuple  # (line, col), 1-based

_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")


_DOCUMENT_FIELDS = ("index", "value", "keys", "values", "named", "text", "start", "error")


class ParsedDocument:
    """One YAML document: its value, where each key/value sits, and its own text.

    `keys` / `values`: path -> (line, col) of the key naming that path / of the value at it;
    `named`: "resources.gpu", "ports[1]" -> (line, col) of the value; `start`: where the document
    starts; `error`: (line, col, message) when the document could not be read. Equal to another
    with the same fields. (A plain class: importing `dataclasses` costs a cold validate more than
    reading the spec.)"""

    __slots__ = _DOCUMENT_FIELDS

    def __init__(self, index: int, value: Any = None, keys: dict | None = None, values: dict | None = None,
                 named: dict | None = None, text: str = "", start: Pos = (1, 1), error: tuple | None = None):
        self.index, self.value, self.text, self.start, self.error = index, value, text, start, error
        self.keys = {} if keys is None else keys
        self.values = {} if values is None else values
        self.named = {} if named is None else named

    def __eq__(self, other: object) -> bool:
        return other.__class__ is ParsedDocument and all(
            getattr(self, name) == getattr(other, name) for name in _DOCUMENT_FIELDS)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return "ParsedDocument(" + ", ".join(f"{name}={getattr(self, name)!r}" for name in _DOCUMENT_FIELDS) + ")"

    def pos(self, path: Path, prefer_key: bool = False) -> Pos:
        """Best position for `path`: its key or value, else the nearest ancestor's."""
        path = tuple(path)
        while True:
            first, second = (self.keys, self.values) if prefer_key else (self.values, self.keys)
            if path in first:
                return first[path]
            if path in second:
                return second[path]
            if not path:
                return self.start
            path = path[:-1]


@lru_cache(maxsize=8192, typed=True)
def child_name(parent: str, key: Any) -> str:
    """Dotted name of a mapping entry: `resources.gpu`, or `import["/code/"]` for unusual keys."""
    text = str(key)
    if _PLAIN_KEY.match(text):
        return f"{parent}.{text}" if parent else text
    return f'{parent}["{text}"]'


def line_col(text: str, offset: int) -> Pos:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def decode(data: bytes) -> tuple[str | None, tuple | None]:
    """UTF-8 text of `data`, or (None, (line, col, message)) for oversized or undecodable bytes."""
    if len(data) > MAX_BYTES:
        return None, (1, 1, f"the file is {len(data) / 1048576:.1f} MB; a spec may be at most "
                            f"{MAX_BYTES // 1048576} MB")
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        head = data[: exc.start].decode("utf-8", "replace")
        line, col = line_col(head, len(head))
        return None, (line, col, f"the file is not UTF-8 text (byte 0x{data[exc.start]:02x}); "
                                 "save it as UTF-8")


def parse(text: str) -> list[ParsedDocument]:
    """Every document of `text` (empty documents skipped). Never raises."""
    if len(text) > MAX_BYTES:
        return [ParsedDocument(0, error=(1, 1, f"the text is longer than {MAX_BYTES // 1048576} MB"))]
    if _yamlc is not None:
        read = _yamlc.parse(text)
        if read is not None:
            return [ParsedDocument(*fields) for fields in read]
    from core.spec import yamllib

    try:
        return yamllib.parse(text)
    except UnicodeEncodeError as exc:  # a lone surrogate: str that no UTF-8 file can hold
        line, col = line_col(text, exc.start)
        return [ParsedDocument(0, error=(line, col, f"the text holds a lone surrogate (U+{ord(text[exc.start]):04X}), "
                                                    "which no file can hold; save the spec as UTF-8 text"))]


try:  # the C reader (setup.py builds it where a compiler and libyaml-dev exist)
    from core.spec import _yamlc
except ImportError:  # pragma: no cover - depends on the build
    _yamlc = None
