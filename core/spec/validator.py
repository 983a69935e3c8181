"""Validation of a spec document without pydantic: the tables of `core.spec._tables` run as code.

`validate(kind, value)` checks a YAML value against the root model of a spec kind as the pydantic
models do (their coercions, rules and defaults) and returns `(instance, errors)`:
the validated model as attribute objects (`Instance`) when there are no errors, and every error in
pydantic's shape (`type`, `loc`, `msg`, `input`, `ctx`), which `core.spec.loader` turns into
problems. A test holds it to pydantic's own problems and values on the corpus, edge cases and
mutated specs; error fields the problems do not show (`input` after a rule) may differ.

It imports only the standard library and the plain rule modules, which is what lets a cold
`vessl-tui validate` skip pydantic's import (several times the interpreter's own start).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from core.spec import _tables

INVALID: Any = object()  # what a validator returns after it recorded an error


class Tag(str):
    """A union member's tag in an error's `loc` (as pydantic puts it there), marked so that it is
    never taken for a key the user wrote (`env: {dict: …}`)."""

Validator = Callable[[Any, tuple, list], Any]


class Instance:
    """A validated model: its fields as attributes; equal to another of its model and fields."""

    __hash__ = None  # type: ignore[assignment]

    def __init__(self, values: dict):
        self.__dict__ = values

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.__dict__ == self.__dict__

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.__dict__!r})"


def _error(kind: str, loc: tuple, msg: str, value: Any, ctx: dict | None = None) -> dict:
    return {"type": kind, "loc": loc, "msg": msg, "input": value, "ctx": ctx}


def _raised(errors: list, exc: Exception, loc: tuple, value: Any) -> Any:
    """Record what a validator function raised (pydantic's value_error / assertion_error)."""
    if isinstance(exc, AssertionError):
        errors.append(_error("assertion_error", loc, f"Assertion failed, {exc}", value, {"error": exc}))
    else:
        errors.append(_error("value_error", loc, f"Value error, {exc}", value, {"error": exc}))
    return INVALID


# ---------------------------------------------------------------- scalars, as pydantic's lax mode reads them

_INT_TEXT = re.compile(r"[+-]?\d+(?:_\d+)*(?:\.0+)?")
_SPACE = "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"  # what pydantic strips around a number (Unicode White_Space)
_TRUE = {"1", "on", "t", "true", "y", "yes"}
_FALSE = {"0", "off", "f", "false", "n", "no"}
_BOUND_WORDS = {"ge": ("greater_than_equal", "greater than or equal to"), "gt": ("greater_than", "greater than"),
                "le": ("less_than_equal", "less than or equal to"), "lt": ("less_than", "less than")}
_BOUND_TESTS = {"ge": lambda v, b: v >= b, "gt": lambda v, b: v > b, "le": lambda v, b: v <= b, "lt": lambda v, b: v < b}


def _as_int(v: Any) -> Any:
    """(int, None) or (None, (type, msg))."""
    cls = v.__class__
    if cls is int or cls is bool:
        return int(v), None
    if cls is float:
        if not math.isfinite(v):
            return None, ("finite_number", "Input should be a finite number")
        if not v.is_integer():
            return None, ("int_from_float", "Input should be a valid integer, got a number with a fractional part")
        if abs(v) >= 2**63:
            return None, ("int_parsing_size", "Unable to parse input string as an integer, exceeded maximum size")
        return int(v), None
    if cls is str:
        text = v.strip(_SPACE)
        if text.isascii() and _INT_TEXT.fullmatch(text):
            try:
                return int(text.split(".")[0]), None
            except ValueError:  # more digits than Python converts
                return None, ("int_parsing_size", "Unable to parse input string as an integer, exceeded maximum size")
        return None, ("int_parsing", "Input should be a valid integer, unable to parse string as an integer")
    return None, ("int_type", "Input should be a valid integer")


def _as_float(v: Any) -> Any:
    cls = v.__class__
    if cls is float:
        return v, None
    if cls is int or cls is bool:
        try:
            return float(v), None
        except OverflowError:
            return None, ("float_type", "Input should be a valid number")
    if cls is str:
        text = v.strip(_SPACE)
        if text.isascii():
            try:
                return float(text), None
            except ValueError:
                pass
        return None, ("float_parsing", "Input should be a valid number, unable to parse string as a number")
    return None, ("float_type", "Input should be a valid number")


def _number(convert: Callable, bounds: tuple) -> Validator:
    order = ("le", "lt", "ge", "gt")  # pydantic's order, which matters for NaN
    checks = [(_BOUND_TESTS[kind], bound, *_BOUND_WORDS[kind], kind)
              for kind, bound in sorted(bounds, key=lambda b: order.index(b[0]))]

    def validate(v: Any, loc: tuple, errors: list) -> Any:
        out, problem = convert(v)
        if problem is not None:
            errors.append(_error(problem[0], loc, problem[1], v))
            return INVALID
        for test, bound, kind, words, key in checks:
            if not test(out, bound):
                errors.append(_error(kind, loc, f"Input should be {words} {bound}", v, {key: bound}))
                return INVALID
        return out

    return validate


def _bool(v: Any, loc: tuple, errors: list) -> Any:
    cls = v.__class__
    if cls is bool:
        return v
    if cls is str:
        low = v.lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
    elif (cls is int or cls is float) and v in (0, 1):
        return bool(v)
    elif (cls is int and -2**63 <= v < 2**63) or (cls is float and v.is_integer()):
        pass
    else:
        errors.append(_error("bool_type", loc, "Input should be a valid boolean", v))
        return INVALID
    errors.append(_error("bool_parsing", loc, "Input should be a valid boolean, unable to interpret input", v))
    return INVALID


def _str(coerce: bool, lo: int | None, hi: int | None) -> Validator:
    def validate(v: Any, loc: tuple, errors: list) -> Any:
        out = v
        if v.__class__ is not str:
            if isinstance(v, str):
                out = str(v)
            elif coerce and isinstance(v, (int, float)) and not isinstance(v, bool):
                out = str(v)
            elif isinstance(v, bytes):
                try:
                    out = v.decode()
                except UnicodeDecodeError:
                    errors.append(_error("string_unicode", loc, "Input should be a valid string, unable to parse "
                                                                "raw data as a unicode string", v))
                    return INVALID
            else:
                errors.append(_error("string_type", loc, "Input should be a valid string", v))
                return INVALID
        if lo is not None and len(out) < lo:
            errors.append(_error("string_too_short", loc, f"String should have at least {lo} character{'s' * (lo != 1)}",
                                 v, {"min_length": lo}))
            return INVALID
        if hi is not None and len(out) > hi:
            errors.append(_error("string_too_long", loc, f"String should have at most {hi} character{'s' * (hi != 1)}",
                                 v, {"max_length": hi}))
            return INVALID
        return out

    return validate


def _literal(values: tuple, expected: str) -> Validator:
    def validate(v: Any, loc: tuple, errors: list) -> Any:
        for allowed in values:
            if v.__class__ is allowed.__class__ and v == allowed:
                return allowed
        errors.append(_error("literal_error", loc, f"Input should be {expected}", v, {"expected": expected}))
        return INVALID

    return validate


def _any(v: Any, loc: tuple, errors: list) -> Any:
    return v


def _dict_any(v: Any, loc: tuple, errors: list) -> Any:
    if isinstance(v, dict):
        return dict(v)
    errors.append(_error("dict_type", loc, "Input should be a valid dictionary", v))
    return INVALID


def _tuple_any(v: Any, loc: tuple, errors: list) -> Any:
    if isinstance(v, (list, tuple)):
        return tuple(v)
    errors.append(_error("tuple_type", loc, "Input should be a valid tuple", v))
    return INVALID


# ---------------------------------------------------------------- containers and choices

def _nullable(inner: Validator) -> Validator:
    return lambda v, loc, errors: None if v is None else inner(v, loc, errors)


def _list(item: Validator, lo: int | None, hi: int | None) -> Validator:
    def validate(v: Any, loc: tuple, errors: list) -> Any:
        if not isinstance(v, (list, tuple)):
            errors.append(_error("list_type", loc, "Input should be a valid list", v))
            return INVALID
        if hi is not None and len(v) > hi:
            errors.append(_error("too_long", loc, f"List should have at most {hi} item{'s' * (hi != 1)} after "
                                                  f"validation, not {len(v)}", v,
                                 {"field_type": "List", "max_length": hi, "actual_length": len(v)}))
            return INVALID
        count = len(errors)
        out = [item(x, (*loc, i), errors) for i, x in enumerate(v)]
        if len(errors) > count:
            return INVALID
        if lo is not None and len(out) < lo:
            errors.append(_error("too_short", loc, f"List should have at least {lo} item{'s' * (lo != 1)} after "
                                                   f"validation, not {len(out)}", v,
                                 {"field_type": "List", "min_length": lo, "actual_length": len(out)}))
            return INVALID
        return out

    return validate


def _tuple(items: list[Validator]) -> Validator:
    def validate(v: Any, loc: tuple, errors: list) -> Any:
        if not isinstance(v, (list, tuple)):
            errors.append(_error("tuple_type", loc, "Input should be a valid tuple", v))
            return INVALID
        count = len(errors)
        out = tuple(fn(x, (*loc, i), errors) for i, (fn, x) in enumerate(zip(items, v)))
        for i in range(len(v), len(items)):
            errors.append(_error("missing", (*loc, i), "Field required", v))
        if len(v) > len(items):
            errors.append(_error("too_long", loc, f"Tuple should have at most {len(items)} items after validation, "
                                                  f"not {len(v)}", v,
                                 {"field_type": "Tuple", "max_length": len(items), "actual_length": len(v)}))
        return INVALID if len(errors) > count else out

    return validate


def _dict(key: Validator, value: Validator) -> Validator:
    def validate(v: Any, loc: tuple, errors: list) -> Any:
        if not isinstance(v, dict):
            errors.append(_error("dict_type", loc, "Input should be a valid dictionary", v))
            return INVALID
        count = len(errors)
        out = {}
        for k, x in v.items():
            at = k if k.__class__ is str else _key_loc(k)
            out[key(k, (*loc, at, "[key]"), errors)] = value(x, (*loc, at), errors)
        return INVALID if len(errors) > count else out

    return validate


def _union(discriminator: Callable, members: dict[str, tuple[Tag, Validator]], custom: tuple | None) -> Validator:
    name = f"{discriminator.__name__}()"
    expected = ", ".join(repr(tag) for tag in members)

    def validate(v: Any, loc: tuple, errors: list) -> Any:
        tag = discriminator(v)
        member = members.get(tag) if tag is not None else None
        if member is not None:
            return member[1](v, (*loc, member[0]), errors)
        if custom is not None:
            errors.append(_error(custom[0], loc, custom[1], v))
        elif tag is None:
            errors.append(_error("union_tag_not_found", loc, f"Unable to extract tag using discriminator {name}", v,
                                 {"discriminator": name}))
        else:
            errors.append(_error("union_tag_invalid", loc, f"Input tag '{tag}' found using {name} does not match any "
                                                           f"of the expected tags: {expected}", v,
                                 {"discriminator": name, "tag": tag, "expected_tags": expected}))
        return INVALID

    return validate


def _before(fn: Callable, inner: Validator) -> Validator:
    def validate(v: Any, loc: tuple, errors: list) -> Any:
        try:
            out = fn(v)
        except (ValueError, AssertionError) as exc:
            return _raised(errors, exc, loc, v)
        return inner(out, loc, errors)

    return validate


def _after(inner: Validator, fn: Callable) -> Validator:
    def validate(v: Any, loc: tuple, errors: list) -> Any:
        out = inner(v, loc, errors)
        if out is INVALID:
            return out
        try:
            return fn(out)
        except (ValueError, AssertionError) as exc:
            return _raised(errors, exc, loc, v)

    return validate


# ---------------------------------------------------------------- models

_MODELS: dict[str, Validator] = {}


def _compiled(name: str) -> Validator:
    """The validator of model `name`, compiled on first use (a VESSL spec never needs dstack's)."""
    found = _MODELS.get(name)
    if found is None:
        found = _MODELS[name] = _model(name, *_tables.MODELS[name])
    return found


def _model_ref(name: str) -> Validator:
    """A validator of model `name` that looks it up when called (models refer to each other)."""
    return lambda v, loc, errors: _compiled(name)(v, loc, errors)


def _model(name: str, fields: tuple, rules: tuple, by_name: bool) -> Validator:
    cls = type(name, (Instance,), {"__slots__": ()})
    by_key: dict[Any, tuple] = {}  # accepted key -> (field name, validator, the alias it stands in for)
    static: dict[str, Any] = {}  # immutable defaults, copied into every instance
    made: list[tuple[str, Callable]] = []  # defaults made fresh for each instance (lists, dicts, models)
    required: list[tuple[str, str]] = []  # (key, field name)
    for fname, alias, node, default in fields:
        check = compile_node(node)
        by_key[alias or fname] = (fname, check, None)
        if alias and by_name:
            by_key[fname] = (fname, check, alias)
        kind = default[0]
        if kind == "required":
            required.append((alias or fname, fname))
        elif kind == "factory":
            made.append((fname, {"list": list, "dict": dict}[default[1]]))
        elif kind == "model":
            made.append((fname, lambda model=default[1], data=default[2]: _compiled(model)(data, (), [])))
        elif isinstance(default[1], (list, dict)):
            made.append((fname, default[1].copy))
        else:
            static[fname] = default[1]
    not_a_mapping = f"Input should be a valid dictionary or instance of {name}"

    def validate(v: Any, loc: tuple, errors: list) -> Any:
        if not isinstance(v, dict):
            errors.append(_error("model_type", loc, not_a_mapping, v, {"class_name": name}))
            return INVALID
        count = len(errors)
        values = static.copy()
        for key, raw in v.items():
            entry = by_key.get(key)
            if key.__class__ is not str:
                errors.append(_error("invalid_key", (*loc, _key_loc(key)), "Keys should be strings", key))
            elif entry is None or (entry[2] is not None and entry[2] in v):  # a name beside its alias is extra
                errors.append(_error("extra_forbidden", (*loc, key), "Extra inputs are not permitted", raw))
            else:
                values[entry[0]] = entry[1](raw, (*loc, key), errors)
        for fname, make in made:
            if fname not in values:
                values[fname] = make()
        for key, fname in required:
            if fname not in values:
                errors.append(_error("missing", (*loc, key), "Field required", v))
        if len(errors) > count:
            return INVALID
        instance = cls(values)
        for rule in rules:
            try:
                rule(instance)
            except (ValueError, AssertionError) as exc:
                return _raised(errors, exc, loc, v)
        return instance

    return validate


def _key_loc(key: Any) -> Any:
    """Where pydantic says a key that is not text sits: an integer as itself, else its text."""
    return int(key) if isinstance(key, int) else str(key)


def compile_node(node: tuple) -> Validator:
    """The validator of one table node (the node forms are listed in `core.spec.tablegen`)."""
    tag = node[0]
    if tag == "str":
        return _str(*node[1:])
    if tag == "int":
        return _number(_as_int, node[1])
    if tag == "float":
        return _number(_as_float, node[1])
    if tag == "bool":
        return _bool
    if tag == "lit":
        return _literal(node[1], node[2])
    if tag == "nullable":
        return _nullable(compile_node(node[1]))
    if tag == "list":
        return _list(compile_node(node[1]), node[2], node[3])
    if tag == "dict":
        return _dict(compile_node(node[1]), compile_node(node[2]))
    if tag == "tuple":
        return _tuple([compile_node(n) for n in node[1]])
    if tag == "model":
        return _model_ref(node[1])
    if tag == "union":
        return _union(node[1], {t: (Tag(t), compile_node(n)) for t, n in node[2]}, node[3])
    if tag == "before":
        return _before(node[1], compile_node(node[2]))
    if tag == "after":
        return _after(compile_node(node[1]), node[2])
    return {"any": _any, "dict_any": _dict_any, "tuple_any": _tuple_any}[tag]


def validate(kind: str, value: Any) -> tuple[Any, list[dict]]:
    """(validated model or None, errors) of `value` as the root model of spec kind `kind`."""
    errors: list[dict] = []
    instance = _compiled(_tables.ROOTS[kind])(value, (), errors)
    return (None if errors else instance), errors


# ---------------------------------------------------------------- field knowledge (for "did you mean")

def _models_in(node: tuple) -> list[str]:
    tag = node[0]
    if tag == "model":
        return [node[1]]
    if tag == "union":
        return [m for _, member in node[2] for m in _models_in(member)]
    if tag in ("nullable", "list"):
        return _models_in(node[1])
    if tag == "dict":
        return _models_in(node[1]) + _models_in(node[2])
    if tag == "tuple":
        return [m for n in node[1] for m in _models_in(n)]
    if tag == "before":
        return _models_in(node[2])
    if tag == "after":
        return _models_in(node[1])
    return []


def known_fields(kind: str, parts: tuple) -> list[str]:
    """The field names (aliases where given) of the mapping at `parts` of a `kind` document, best
    effort through unions, lists and dicts: what an unknown key there could have meant."""
    models = [_tables.ROOTS[kind]]
    for part in parts:
        if not isinstance(part, str):
            continue
        nodes = [node for m in models for fname, alias, node, _ in _tables.MODELS[m][0] if part in (fname, alias)]
        if nodes:
            models = [m for node in nodes for m in _models_in(node)] or models
    names: list[str] = []
    for m in models:
        for fname, alias, _, _ in _tables.MODELS[m][0]:
            if (alias or fname) not in names:
                names.append(alias or fname)
    return names
