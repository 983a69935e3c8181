"""YAML with positions through libyaml (and PyYAML's composer): every YAML that specs may hold.

`parse(text)` gives what `core.spec.yamlpos.parse` promises. Specs are read in one pass over
libyaml's event stream. A stream that uses anchors, aliases, merge keys or complex keys, or that is
huge or deep, is read again through PyYAML's composer, which handles all of YAML and guards against
alias bombs; both paths give the same result.
"""

from __future__ import annotations

from typing import Any

import yaml

from yaml.events import (
    DocumentEndEvent, DocumentStartEvent, MappingEndEvent, MappingStartEvent, ScalarEvent, SequenceEndEvent,
    SequenceStartEvent,
)

from core.spec.yamlpos import MAX_DEPTH, MAX_NODES, ParsedDocument, Path, line_col, child_name
from core.spec.yamltypes import MAX_INT_DIGITS

try:  # libyaml is ~10x faster than the pure-Python parser
    from yaml._yaml import CParser as _CParser

    _Loader = yaml.CSafeLoader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    _CParser = None
    _Loader = yaml.SafeLoader

_TAG = "tag:yaml.org,2002:"
_constructor = yaml.SafeLoader("")  # used only for its scalar constructors (ints, floats, bools)


class _TooBig(Exception):
    pass


class _Builder:
    """Turns a composed node tree into plain values, recording positions, with bomb guards."""

    def __init__(self, doc: ParsedDocument):
        self.doc = doc
        self.count = 0

    def build(self, node: yaml.Node, path: Path | None, name: str = "", depth: int = 0) -> Any:
        """Plain value of `node`; positions are recorded under `path` and its dotted `name`
        (path None: not recorded)."""
        self.count += 1
        if self.count > MAX_NODES:
            raise _TooBig(
                f"the document expands to more than {MAX_NODES:,} values (an alias bomb?); "
                "write it out without `*alias` repetition"
            )
        if depth > MAX_DEPTH:
            raise _TooBig(f"the document nests deeper than {MAX_DEPTH} levels; flatten it")
        if path is not None:
            pos = (node.start_mark.line + 1, node.start_mark.column + 1)
            self.doc.values[path] = pos
            if name:
                self.doc.named[name] = pos
        if isinstance(node, yaml.ScalarNode):
            return _scalar(node)
        if isinstance(node, yaml.SequenceNode):
            return [
                self.build(item, None if path is None else path + (i,), f"{name}[{i}]", depth + 1)
                for i, item in enumerate(node.value)
            ]
        result: dict = {}
        merged: dict = {}
        for key_node, value_node in node.value:
            if key_node.tag == _TAG + "merge":
                sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
                for source in sources:
                    value = self.build(source, None, "", depth + 1)
                    if isinstance(value, dict):
                        for k, v in value.items():
                            merged.setdefault(k, v)
                continue
            key = self.build(key_node, None, "", depth + 1)
            if isinstance(key, (dict, list)):
                key = str(key)
            child = None if path is None else path + (key,)
            if child is not None:
                self.doc.keys[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            result[key] = self.build(value_node, child, child_name(name, key) if child else "", depth + 1)
        for k, v in merged.items():
            result.setdefault(k, v)
        return result


def _scalar(node: yaml.ScalarNode) -> Any:
    tag = node.tag
    if not tag.startswith(_TAG) or tag == _TAG + "str":
        return node.value
    kind = tag[len(_TAG):]
    try:
        if kind == "null":
            return None
        if kind == "bool":
            return _constructor.construct_yaml_bool(node)
        if kind == "int":
            return _constructor.construct_yaml_int(node)
        if kind == "float":
            return _constructor.construct_yaml_float(node)
    except Exception:  # a malformed typed scalar reads as its text
        return node.value
    return node.value  # timestamps, binary, …: keep the text the user wrote


def _syntax_message(exc: yaml.MarkedYAMLError, text: str, line: int, col: int) -> str:
    problem = exc.problem or str(exc)
    lines = text.splitlines()
    if 0 < line <= len(lines) and lines[line - 1][col - 1:col] == "\t" or "'\\t'" in problem:
        return "a tab character cannot indent YAML; indent with spaces"
    context = f" {exc.context}" if exc.context else ""
    return f"YAML syntax error: {problem}{context}".replace("\n", " ")


def parse(text: str) -> list[ParsedDocument]:
    """Every document of `text` (empty documents skipped). Never raises."""
    lines = text.splitlines(keepends=True)
    if _CParser is None:  # pragma: no cover - depends on how PyYAML was built
        return _parse_composed(text, lines)
    try:
        return _parse_events(text, lines)
    except _Unusual:
        return _parse_composed(text, lines)


def _failed(index: int, exc: BaseException, text: str) -> ParsedDocument:
    """The document that stands for a stream libyaml could not read."""
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


def _doc_text(lines: list[str], start, end) -> str:
    end_line = end.line + (1 if end.column else 0)
    return "".join(lines[start.line:max(end_line, start.line + 1)])


# ---------------------------------------------------------------- the fast path: libyaml's events

class _Unusual(Exception):
    """The stream uses anchors, aliases, merge keys, complex keys, explicit tags on the root, or is
    huge or deep: it is read again by the composing path, which handles all of YAML."""


_IMPLICIT = _Loader.yaml_implicit_resolvers
_NULL, _BOOL, _INT, _MERGE = (_TAG + t for t in ("null", "bool", "int", "merge"))
_BOOLS = {"yes": True, "no": False, "true": True, "false": False, "on": True, "off": False}
_plain_values: dict[str, Any] = {}  # plain scalar text -> its value (YAML 1.1 implicit typing)
_NO_KEY = object()


def _plain(text: str) -> Any:
    """The value of an untagged plain scalar, typed as PyYAML's SafeLoader types it."""
    resolvers = _IMPLICIT.get(text[0] if text else "")
    if resolvers is None:
        return text
    value = _plain_values.get(text, _NO_KEY)
    if value is not _NO_KEY:
        return value
    tag = None
    for candidate, regexp in resolvers:
        if regexp.match(text):
            tag = candidate
            break
    if tag is None:
        value = text
    elif tag == _NULL:
        value = None
    elif tag == _BOOL:
        value = _BOOLS[text.lower()]
    elif tag == _INT and text.isdigit() and (text[0] != "0" or text == "0") and len(text) <= MAX_INT_DIGITS:
        value = int(text)
    elif tag == _INT and len(text) > MAX_INT_DIGITS:
        value = text  # more digits than Python converts: read as its text, as a malformed scalar is
    elif tag == _MERGE:
        raise _Unusual
    else:
        value = _scalar(yaml.ScalarNode(tag, text))
    if len(text) <= 64:
        if len(_plain_values) >= 4096:
            _plain_values.clear()
        _plain_values[text] = value
    return value


def _parse_events(text: str, lines: list[str]) -> list[ParsedDocument]:
    """Values and positions built straight from libyaml's event stream, in one pass."""
    parser = _CParser(text)
    get = parser.get_event
    docs: list[ParsedDocument] = []
    index = 0
    try:
        get()  # stream start
        while type(get()) is DocumentStartEvent:
            doc = _events_document(get, index, lines)
            if doc is not None:
                docs.append(doc)
                index += 1
    except (yaml.YAMLError, RecursionError) as exc:
        docs.append(_failed(index, exc, text))
    finally:
        parser.dispose()
    return docs


def _events_document(get, index: int, lines: list[str]) -> ParsedDocument | None:
    """One document, from the event after DocumentStart through DocumentEnd (None: empty)."""
    doc = ParsedDocument(index)
    keys, values, named = doc.keys, doc.values, doc.named
    # a frame: [container, path, dotted name, pending key (or _NO_KEY), next list index or key's path]
    stack: list[list] = []
    count = 0
    root = first = last = None
    while True:
        ev = get()
        cls = type(ev)
        if cls is ScalarEvent or cls is MappingStartEvent or cls is SequenceStartEvent:
            if ev.anchor is not None:
                raise _Unusual
            count += 1
            if cls is ScalarEvent:
                tag = ev.tag
                if tag is None or tag == "!":
                    value = _plain(ev.value) if ev.implicit[0] else ev.value
                elif stack:
                    value = _scalar(yaml.ScalarNode(tag, ev.value))
                else:
                    raise _Unusual
            else:
                value = {} if cls is MappingStartEvent else []
            mark = ev.start_mark
            pos = (mark.line + 1, mark.column + 1)
            if stack:
                frame = stack[-1]
                parent = frame[0]
                if parent.__class__ is dict:
                    key = frame[3]
                    if key is _NO_KEY:
                        if cls is not ScalarEvent:
                            raise _Unusual  # a mapping or list as a key
                        frame[3] = value
                        frame[4] = path = frame[1] + (value,)
                        keys[path] = pos
                        continue
                    frame[3] = _NO_KEY
                    path = frame[4]
                    name = child_name(frame[2], key)
                    parent[key] = value
                else:
                    i = frame[4]
                    frame[4] = i + 1
                    path = frame[1] + (i,)
                    name = f"{frame[2]}[{i}]"
                    parent.append(value)
                values[path] = pos
                named[name] = pos
            else:
                root, first, path, name = value, ev, (), ""
                values[path] = pos
            if cls is not ScalarEvent:
                if len(stack) >= MAX_DEPTH or count > MAX_NODES:
                    raise _Unusual
                stack.append([value, path, name, _NO_KEY, 0])
            elif not stack:
                last = ev
        elif cls is MappingEndEvent or cls is SequenceEndEvent:
            stack.pop()
            if not stack:
                last = ev
        elif cls is DocumentEndEvent:
            break
        else:  # an alias
            raise _Unusual
    if count > MAX_NODES:
        raise _Unusual
    if first.__class__ is ScalarEvent and first.implicit[0] and first.value in ("", "~", "null"):
        return None  # an empty document (a stray `---`) holds no spec
    start = first.start_mark
    doc.start = (start.line + 1, start.column + 1)
    doc.text = _doc_text(lines, start, last.end_mark)
    doc.value = root
    return doc


# ---------------------------------------------------------------- the composing path: all of YAML

def _parse_composed(text: str, lines: list[str]) -> list[ParsedDocument]:
    """Every document via PyYAML's composer: anchors, aliases and merge keys, with bomb guards."""
    docs: list[ParsedDocument] = []
    loader = _Loader(text)
    index = 0
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None or (isinstance(node, yaml.ScalarNode) and node.tag == _TAG + "null"
                                and node.value in ("", "~", "null")):
                continue  # an empty document (a stray `---`) holds no spec
            doc = ParsedDocument(index)
            doc.start = (node.start_mark.line + 1, node.start_mark.column + 1)
            doc.text = _doc_text(lines, node.start_mark, node.end_mark)
            try:
                doc.value = _Builder(doc).build(node, ())
            except _TooBig as exc:
                doc.error = (*doc.start, str(exc))
            except RecursionError:
                doc.error = (*doc.start, "the document nests too deeply; flatten it")
            if doc.error:
                doc.value, doc.keys, doc.values = None, {}, {}
            docs.append(doc)
            index += 1
    except (yaml.YAMLError, RecursionError) as exc:
        docs.append(_failed(index, exc, text))
    finally:
        loader.dispose()
    return docs
