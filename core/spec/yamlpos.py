"""YAML with positions: plain Python values plus the line/column of every key and value.

`parse(text)` reads every document through PyYAML's composer (libyaml's `CSafeLoader` where PyYAML
has it, the pure-Python one otherwise), turns its nodes into plain dicts/lists/scalars and records
`path -> (line, col)` (1-based) from the nodes' marks for each key and each value. A path is a
tuple of keys and list indexes: `("ports", 1)`. Scalars are typed as PyYAML's SafeLoader types them
(YAML 1.1: `yes` is true, `0o17` is 15, ...); timestamps and binary keep the text the user wrote.

It never raises for bad input: syntax errors, alias bombs, deep nesting, oversized or non-UTF-8
input come back as a `ParsedDocument` with `error` set to `(line, col, message)`.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import yaml

MAX_BYTES = 2 * 1024 * 1024
MAX_NODES = 200_000
MAX_DEPTH = 200

Path = tuple  # tuple[str | int, ...]
Pos = tuple  # (line, col), 1-based

_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")
_TAG = "tag:yaml.org,2002:"
_STR, _NULL, _BOOL, _INT, _FLOAT, _MERGE = (_TAG + t for t in ("str", "null", "bool", "int", "float", "merge"))
_constructor = yaml.SafeLoader("")  # used only for its scalar constructors (ints, floats, bools)
_DOCUMENT_FIELDS = ("index", "value", "keys", "values", "text", "start", "error")


_TAGS: dict[str, str] = {}  # plain scalar text -> its implicit tag


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """PyYAML's safe loader (libyaml's where PyYAML has it) that remembers the implicit tag of each
    plain scalar text it has typed: specs repeat the same few scalars (`true`, `1`, `local`)."""

    def resolve(self, kind, value, implicit):  # noqa: ANN001 - PyYAML's signature
        if kind is yaml.ScalarNode and implicit[0]:
            tag = _TAGS.get(value)
            if tag is None:
                tag = super().resolve(kind, value, implicit)
                if len(value) <= 64:
                    if len(_TAGS) >= 4096:
                        _TAGS.clear()
                    _TAGS[value] = tag
            return tag
        return super().resolve(kind, value, implicit)

    def descend_resolver(self, current_node, current_index):  # noqa: ANN001 - no path resolvers here
        pass

    def ascend_resolver(self):
        pass


class ParsedDocument:
    """One YAML document: its value, where each key/value sits, and its own text.

    `keys` / `values`: path -> (line, col) of the key naming that path / of the value at it, read
    from the document's nodes when first asked for; `start`: where the document starts; `error`:
    (line, col, message) when the document could not be read. Equal to another with the same
    fields."""

    __slots__ = (*_DOCUMENT_FIELDS[:2], "_keys", "_values", *_DOCUMENT_FIELDS[4:], "_node")

    def __init__(self, index: int, value: Any = None, keys: dict | None = None, values: dict | None = None,
                 text: str = "", start: Pos = (1, 1), error: tuple | None = None, node: Any = None):
        self.index, self.value, self.text, self.start, self.error = index, value, text, start, error
        self._keys, self._values, self._node = keys, values, node

    @property
    def keys(self) -> dict:
        if self._keys is None:
            self._positions()
        return self._keys

    @property
    def values(self) -> dict:
        if self._values is None:
            self._positions()
        return self._values

    def _positions(self) -> None:
        self._keys, self._values = {}, {}
        if self._node is not None and self.error is None:
            _record(self._node, (), self._keys, self._values)

    def __eq__(self, other: object) -> bool:
        return other.__class__ is ParsedDocument and all(
            getattr(self, name) == getattr(other, name) for name in _DOCUMENT_FIELDS)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return "ParsedDocument(" + ", ".join(f"{name}={getattr(self, name)!r}" for name in _DOCUMENT_FIELDS) + ")"

    def pos(self, path: Path, prefer_key: bool = False) -> Pos:
        """Best position for `path`: its key or value, else the nearest ancestor's."""
        path = tuple(path)
        keys, values = self.keys, self.values
        while True:
            first, second = (keys, values) if prefer_key else (values, keys)
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


# ---------------------------------------------------------------- nodes to values

class _DuplicateKey(Exception):
    """A mapping names the same key twice: (line, column) of the second, and the sentence."""

    def __init__(self, line: int, column: int, message: str) -> None:
        super().__init__(message)
        self.line, self.column = line, column


class _TooBig(Exception):
    pass


def _scalar(node: yaml.ScalarNode) -> Any:
    """A scalar node's value as SafeLoader constructs it; a malformed typed scalar (and a timestamp,
    binary, …) reads as its text."""
    tag = node.tag
    if tag == _STR or not tag.startswith(_TAG):
        return node.value
    try:
        if tag == _NULL:
            return None
        if tag == _BOOL:
            return _constructor.construct_yaml_bool(node)
        if tag == _INT:
            text = node.value
            return int(text) if text.isdigit() and (text[0] != "0" or text == "0") else \
                _constructor.construct_yaml_int(node)
        if tag == _FLOAT:
            return _constructor.construct_yaml_float(node)
    except Exception:  # more digits than Python converts, or a malformed scalar: its text
        return node.value
    return node.value


def _key(node: yaml.Node) -> Any:
    """The dict key a key node stands for (a mapping or list as a key: its text)."""
    if node.__class__ is yaml.ScalarNode:
        return _scalar(node)
    return str(_plain(node))


def _plain(root: yaml.Node) -> Any:
    """The plain value of a node tree, merge keys applied, with guards against alias bombs and
    deep nesting (`_TooBig`)."""
    count = 0
    scalar_node, sequence_node = yaml.ScalarNode, yaml.SequenceNode

    def build(node: yaml.Node, depth: int) -> Any:
        nonlocal count
        count += 1
        if count > MAX_NODES:
            raise _TooBig(f"the document expands to more than {MAX_NODES:,} values (an alias bomb?); "
                          "write it out without `*alias` repetition")
        if depth > MAX_DEPTH:
            raise _TooBig(f"the document nests deeper than {MAX_DEPTH} levels; flatten it")
        cls = node.__class__
        if cls is scalar_node:
            return node.value if node.tag == _STR else _scalar(node)
        depth += 1
        if cls is sequence_node:
            return [build(item, depth) for item in node.value]
        result: dict = {}
        merged: dict = {}
        seen: set = set()
        for key_node, value_node in node.value:
            if key_node.__class__ is scalar_node:
                if key_node.tag == _MERGE:
                    sources = value_node.value if value_node.__class__ is sequence_node else [value_node]
                    for source in sources:
                        value = build(source, depth)
                        if isinstance(value, dict):
                            for k, v in value.items():
                                merged.setdefault(k, v)
                    continue
                key = key_node.value if key_node.tag == _STR else _scalar(key_node)
            else:
                key = str(build(key_node, depth))
            if (key.__class__, key) in seen:
                mark = key_node.start_mark
                raise _DuplicateKey(mark.line + 1, mark.column + 1, f"`{key}` is given twice in this mapping; "
                                    "YAML keeps only the last one: remove one of them")
            seen.add((key.__class__, key))  # by type too: `1` and `true` are two keys (equal in Python)
            result[key] = build(value_node, depth)
        for k, v in merged.items():
            result.setdefault(k, v)
        return result

    return build(root, 0)


def _record(node: yaml.Node, path: Path, keys: dict, values: dict) -> None:
    """Where each key and value of a (valid, bounded) node tree sits, by path; what a merge key
    brings in is not recorded (it points at its mapping)."""
    mark = node.start_mark
    values[path] = (mark.line + 1, mark.column + 1)
    if node.__class__ is yaml.SequenceNode:
        for i, item in enumerate(node.value):
            _record(item, path + (i,), keys, values)
    elif node.__class__ is yaml.MappingNode:
        for key_node, value_node in node.value:
            if key_node.tag != _MERGE:
                child = path + (_key(key_node),)
                mark = key_node.start_mark
                keys[child] = (mark.line + 1, mark.column + 1)
                _record(value_node, child, keys, values)


# ---------------------------------------------------------------- reading a stream

def _syntax_message(exc: yaml.MarkedYAMLError, text: str, line: int, col: int) -> str:
    problem = exc.problem or str(exc)
    lines = text.splitlines()
    if 0 < line <= len(lines) and lines[line - 1][col - 1:col] == "\t" or "'\\t'" in problem:
        return "a tab character cannot indent YAML; indent with spaces"
    context = f" {exc.context}" if exc.context else ""
    return f"YAML syntax error: {problem}{context}".replace("\n", " ")


def _failed(index: int, exc: BaseException, text: str) -> ParsedDocument:
    """The document that stands for a stream PyYAML could not read."""
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        return ParsedDocument(index, error=(line, col, _syntax_message(exc, text, line, col)), text=text)
    if isinstance(exc, yaml.reader.ReaderError):
        line, col = line_col(text, exc.position)
        what = f"#x{exc.character:04x}" if isinstance(exc.character, int) else repr(exc.character)
        return ParsedDocument(index, error=(line, col, f"the file holds a control character ({what}); "
                                                       "a spec must be plain text"), text=text)
    if isinstance(exc, yaml.YAMLError):
        return ParsedDocument(index, error=(1, 1, f"YAML error: {exc}".replace("\n", " ")), text=text)
    return ParsedDocument(index, error=(1, 1, "the document nests too deeply; flatten it"), text=text)


def _document(index: int, node: yaml.Node, lines: list[str]) -> ParsedDocument:
    start, end = node.start_mark, node.end_mark
    end_line = end.line + (1 if end.column else 0)
    doc = ParsedDocument(index, text="".join(lines[start.line:max(end_line, start.line + 1)]),
                         start=(start.line + 1, start.column + 1), node=node)
    try:
        doc.value = _plain(node)
    except _TooBig as exc:
        doc.error = (*doc.start, str(exc))
    except _DuplicateKey as exc:
        doc.error = (exc.line, exc.column, str(exc))
    except RecursionError:
        doc.error = (*doc.start, "the document nests too deeply; flatten it")
    if doc.error:
        doc.value, doc._node = None, None
    return doc


def parse(text: str) -> list[ParsedDocument]:
    """Every document of `text` (empty documents skipped). Never raises."""
    if len(text) > MAX_BYTES:
        return [ParsedDocument(0, error=(1, 1, f"the text is longer than {MAX_BYTES // 1048576} MB"))]
    lines = text.splitlines(keepends=True)
    docs: list[ParsedDocument] = []
    try:
        loader = _Loader(text)
    except UnicodeEncodeError as exc:  # a lone surrogate: str that no UTF-8 file can hold
        line, col = line_col(text, exc.start)
        return [ParsedDocument(0, error=(line, col, f"the text holds a lone surrogate (U+{ord(text[exc.start]):04X}), "
                                                    "which no file can hold; save the spec as UTF-8 text"))]
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None or (node.__class__ is yaml.ScalarNode and node.tag == _NULL
                                and node.value in ("", "~", "null")):
                continue  # an empty document (a stray `---`) holds no spec
            docs.append(_document(len(docs), node, lines))
    except (yaml.YAMLError, RecursionError) as exc:
        docs.append(_failed(len(docs), exc, text))
    finally:
        loader.dispose()
    return docs
