"""pydantic's validation errors as positioned, compiler-style problems.

`Translator(doc, file, kind, family, typ).translate(err)` turns one error of
`ValidationError.errors()` into the `Problem`s it stands for, each at the key or value it is about:
the error's `loc` is walked alongside the model's core schema, so that the tags pydantic puts in a
`loc` for a union member (`dict`, `list`, …) are never taken for keys the user wrote.
"""

from __future__ import annotations

import difflib
from functools import lru_cache
from typing import Any

from core.spec import models, yamlpos
from core.spec.checks import SHAPE_NAMES, FieldError, quoted, shape_of
from core.spec.errors import Problem


# ---------------------------------------------------------------- paths and positions

def format_path(path: tuple) -> str:
    """("ports", 1) -> "ports[1]"; ("import", "/code/") -> 'import["/code/"]'."""
    out = ""
    for part in path:
        out = f"{out}[{part}]" if isinstance(part, int) else yamlpos.child_name(out, part)
    return out


_WRAPPERS = ("default", "nullable", "function-before", "function-after", "function-wrap", "model", "definitions")


@lru_cache(maxsize=None)
def _schema(kind: str) -> tuple[dict, dict]:
    """(core schema, its definitions by ref) of the root model of a spec kind."""
    refs: dict = {}

    def collect(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("ref"), str) and isinstance(node.get("type"), str):
                refs[node["ref"]] = node
            for key, value in node.items():
                if key not in ("cls", "function", "metadata", "serialization", "config"):
                    collect(value)
        elif isinstance(node, (list, tuple)):
            for item in node:
                collect(item)

    schema = models.adapter(kind).core_schema
    collect(schema)
    return schema, refs


def _fields(schema: dict) -> dict:
    """A model-fields schema's fields by every key a user may write (alias and name)."""
    out = {}
    for name, field in schema["fields"].items():
        out[name] = field
        alias = field.get("validation_alias")
        if isinstance(alias, str):
            out[alias] = field
    return out


def tag_parts(kind: str, loc: tuple) -> set[int]:
    """The indexes in `loc` that name a union member (a tag), not a key or an index."""
    node, refs = _schema(kind)
    tags: set[int] = set()
    for i, part in enumerate(loc):
        while node is not None and (node["type"] in _WRAPPERS or node["type"] == "definition-ref"):
            node = refs.get(node["schema_ref"]) if node["type"] == "definition-ref" else node["schema"]
        kind_ = None if node is None else node["type"]
        if kind_ == "tagged-union" and part in node["choices"]:
            tags.add(i)
            node = node["choices"][part]
        elif kind_ == "model-fields":
            node = _fields(node).get(part, {}).get("schema")
        elif kind_ == "list":
            node = node["items_schema"]
        elif kind_ == "tuple" and isinstance(part, int):
            items = node["items_schema"]
            node = items[part] if part < len(items) else None
        elif kind_ == "dict":
            node = node["keys_schema"] if i + 1 < len(loc) and loc[i + 1] == "[key]" else node["values_schema"]
        else:
            break
    return tags


_ABSENT = object()


def resolve(loc: tuple, raw: Any, tags: set[int]) -> tuple[tuple, bool]:
    """(the source path a pydantic `loc` names, whether the error is about a key): union tags
    (`tags`, indexes into `loc`) and validator names dropped."""
    path: list = []
    cur = raw
    at_key = False
    for i, part in enumerate(loc):
        if part == "[key]":
            at_key = True
        elif i in tags:
            continue
        elif isinstance(cur, dict):  # a key that is not text is named by its text
            key = part if part in cur else next((k for k in cur if not isinstance(k, str) and str(k) == part), _ABSENT)
            if key is not _ABSENT:
                path.append(key)
                cur = cur[key]
        elif isinstance(cur, list) and isinstance(part, int) and 0 <= part < len(cur):
            path.append(part)
            cur = cur[part]
    return tuple(path), at_key


# ---------------------------------------------------------------- messages

def show(value: Any) -> str:
    """A value as a message shows it: its shape for a mapping or list, else quoted."""
    if isinstance(value, (dict, list)):
        return SHAPE_NAMES[shape_of(value)]
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    return quoted(value)


_WANTS = {"string": "a string", "int": "a whole number", "float": "a number", "bool": "true or false",
          "list": "a list", "dict": "a mapping", "model": "a mapping"}
_TYPE_ERRORS = ("string_type", "int_type", "float_type", "bool_type", "list_type", "dict_type", "model_type",
                "model_attributes_type", "int_parsing", "float_parsing", "bool_parsing", "int_from_float")


def _message(err: dict) -> str:
    kind, ctx, value = err["type"], err.get("ctx") or {}, err.get("input")
    if kind == "union_tag_invalid" or kind == "union_tag_not_found":
        expected = [SHAPE_NAMES.get(t.strip("' "), t) for t in str(ctx.get("expected_tags", "")).split(",")]
        expected = [e for e in expected if e and e != "nothing"]
        listed = expected[0] if len(expected) == 1 else ", ".join(expected[:-1]) + " or " + expected[-1]
        return f"expected {listed}, got {show(value)}"
    if kind == "literal_error":
        return f"must be {ctx.get('expected', '')}; got {show(value)}"
    if kind in _TYPE_ERRORS:
        return f"expected {_WANTS[kind.split('_')[0]]}, got {show(value)}"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        return f"{err['msg'][0].lower()}{err['msg'][1:]}, got {show(value)}"
    if kind == "int_parsing_size":
        return f"the number {show(value)} is too large"
    if kind == "finite_number":
        return f"expected a finite number, got {show(value)}"
    if kind == "too_long":
        return f"at most {ctx.get('max_length')} item(s) allowed"
    if kind == "too_short":
        return f"give at least {ctx.get('min_length')} item(s)" if isinstance(value, list) else (
            f"cannot be shorter than {ctx.get('min_length')} character(s), got {show(value)}")
    message = err["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            message = message[len(prefix):]
    return message


def _field_path(field: str) -> tuple:
    """"groups.0.name" -> ("groups", 0, "name"); "" -> ()."""
    return tuple(int(p) if p.isdigit() else p for p in field.split(".")) if field else ()


_ONE_LINE = {ord(c): repr(c)[1:-1] for c in "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"}  # shown escaped


class Translator:
    """What error translation needs to know about one document: its parse, file and kind
    (`spec_kind` as `vessl-run`; `family` vessl or dstack; `kind` as `run` or `task`)."""

    def __init__(self, doc: yamlpos.ParsedDocument, file: str, spec_kind: str, family: str, kind: str):
        self.doc, self.file, self.spec_kind, self.family, self.kind = doc, file, spec_kind, family, kind

    def problem(self, path: tuple, message: str, at_key: bool = False, severity: str = "error") -> Problem:
        line, col = self.doc.pos(path, prefer_key=at_key)
        message = message.translate(_ONE_LINE)  # a value quoted in it may hold line breaks
        return Problem(self.file, line, col, format_path(path), message, severity)  # type: ignore[arg-type]

    def translate(self, err: dict) -> list[Problem]:
        """The problems one pydantic error stands for (several for a cross-field rule)."""
        loc = tuple(err["loc"])
        path, at_key = resolve(loc, self.doc.value, tag_parts(self.spec_kind, loc))
        kind = err["type"]
        if kind == "extra_forbidden":
            return [self.problem(path, self._unknown(path), at_key=True)]
        if kind == "invalid_key":
            return [self.problem(path, f"a field name is text, not {show(err.get('input'))}", at_key=True)]
        if kind == "missing":
            name = next((p for p in reversed(loc) if isinstance(p, str)), "?")
            return [self.problem(path, f"missing required field `{name}`", at_key=True)]
        error = (err.get("ctx") or {}).get("error")
        if isinstance(error, FieldError):
            return [self.problem(path + _field_path(e.field), str(e), at_key=True) for e in error.each()]
        return [self.problem(path, _message(err), at_key=at_key)]

    def _unknown(self, path: tuple) -> str:
        key = path[-1]
        parents = tuple(p for p in path[:-1] if isinstance(p, str))
        rel = ".".join((*parents, str(key)))
        from core.spec import dstack_rules, vessl_rules  # only an unknown key needs them

        table = dstack_rules.RENAMED if self.family == "dstack" else vessl_rules.RENAMED
        hint = table.get((self.kind, rel)) or table.get(("*", rel))
        if hint:
            return f"unknown field `{key}` — {hint}"
        known = [k for k in models.known_fields(self.spec_kind, path[:-1]) if k != key]
        close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
        if close:
            return f"unknown field `{key}` — did you mean `{close[0]}`?"
        if 0 < len(known) <= 12:
            return f"unknown field `{key}`; expected one of: {', '.join(known)}"
        return f"unknown field `{key}`"
