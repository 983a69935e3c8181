"""Writes `core/spec/_tables.py`: the spec models as plain data for the validator.

The pydantic models of `core.spec.vessl` and `core.spec.dstack` are the one description of the
spec language. This module reads them (fields, types, aliases, defaults, constraints, validators,
discriminators and `RULES`) and writes the same description as nested tuples that
`core.spec.validator` runs without importing pydantic, so that a cold `vessl-tui validate` does not
pay for it. Every validator it meets must be a named function of a plain module (no lambdas).

    python -m core.spec.tablegen          # print the table module
    python -m core.spec.tablegen --write  # rewrite core/spec/_tables.py

A test checks that the written file is what this module produces now.

`MODELS[name]` is `(fields, rules, populate_by_name)`; a field is `(name, alias, node, default)`,
a default `("required",)`, `("value", v)`, `("factory", "list" | "dict")` or `("model", name, data)`.
Nodes (validators and constraints as pydantic applies them):

    ("str", coerce_numbers, min_length, max_length)   ("int", bounds)   ("float", bounds)   ("bool",)
    ("lit", values, expected_text)      ("nullable", node)       ("list", node, min_length, max_length)
    ("dict", key_node, value_node)      ("tuple", nodes)         ("model", name)
    ("union", discriminator, ((tag, node), ...), custom_error)   ("before", fn, node)   ("after", node, fn)
    ("any",)   ("dict_any",)   ("tuple_any",)

`bounds` is a tuple of ("ge" | "gt" | "le" | "lt", value).
"""

from __future__ import annotations

import pprint
import sys
import types
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types as at
from pydantic import AfterValidator, BaseModel, BeforeValidator, Discriminator, Tag, WithJsonSchema
from pydantic_core import PydanticUndefined

from core.spec import checks, dstack_rules, grammar, vessl_rules

TABLES = Path(__file__).with_name("_tables.py")
PLAIN_MODULES = {m.__name__: m.__name__.rsplit(".", 1)[1] for m in (checks, dstack_rules, grammar, vessl_rules)}
_CONSTRAINTS = {at.Ge: "ge", at.Gt: "gt", at.Le: "le", at.Lt: "lt", at.MinLen: "min_length", at.MaxLen: "max_length"}


class _Code(str):
    """Source text written as it is (a function reference), not as a repr."""

    def __repr__(self) -> str:
        return str(self)


def _function(fn: Any) -> _Code:
    module = PLAIN_MODULES.get(getattr(fn, "__module__", ""))
    if module is None or getattr(sys.modules[fn.__module__], fn.__qualname__, None) is not fn:
        raise TypeError(f"{fn!r} is not a named function of a plain rules module ({', '.join(PLAIN_MODULES)})")
    return _Code(f"{module}.{fn.__qualname__}")


class _Walker:
    """Turns model classes into table entries, collecting every model reached."""

    def __init__(self) -> None:
        self.models: dict[str, tuple] = {}
        self.classes: dict[str, type[BaseModel]] = {}

    def model(self, cls: type[BaseModel]) -> str:
        name = cls.__name__
        known = self.classes.get(name)
        if known is not None:
            if known is not cls:
                raise TypeError(f"two models are named {name}")
            return name
        self.classes[name] = cls
        if cls.model_config.get("extra") != "forbid":
            raise TypeError(f"{name} must forbid unknown keys (extra='forbid'): the validator assumes it")
        self.models[name] = ()  # reserved: a model may refer to itself
        coerce = bool(cls.model_config.get("coerce_numbers_to_str"))
        fields = tuple(self._field(fname, info, coerce) for fname, info in cls.model_fields.items())
        rules = tuple(_function(rule) for rule in getattr(cls, "RULES", ()))
        self.models[name] = (fields, rules, bool(cls.model_config.get("populate_by_name")))
        return name

    def _field(self, name: str, info: Any, coerce: bool) -> tuple:
        if info.discriminator is not None:
            raise TypeError(f"{name}: give a Discriminator callable, not a field name")
        tp = Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
        node = self.node(tp, coerce)
        if info.default_factory is not None:
            made = info.default_factory()
            if isinstance(made, BaseModel):
                default = ("model", self.model(type(made)), made.model_dump())
            elif made == [] or made == {}:
                default = ("factory", type(made).__name__)
            else:
                raise TypeError(f"default factory of {name} makes {made!r}")
        elif info.default is PydanticUndefined:
            default = ("required",)
        else:
            default = ("value", info.default)
        return (name, info.alias, node, default)

    def node(self, tp: Any, coerce: bool) -> tuple:
        origin, args = get_origin(tp), get_args(tp)
        if origin is Annotated:
            inner, *meta = args
            discriminator = next((m for m in meta if isinstance(m, Discriminator)), None)
            if discriminator is not None and get_origin(inner) in (Union, types.UnionType):
                return self._wrap(self._tagged(inner, discriminator, coerce), meta, coerce)
            return self._wrap(self.node(inner, coerce), meta, coerce)
        if origin in (Union, types.UnionType):
            members = [a for a in args if a is not type(None)]
            if len(members) == 1 and len(args) == 2:
                return ("nullable", self.node(members[0], coerce))
            raise TypeError(f"an untagged union {tp!r}: use by_shape or a Discriminator")
        if origin is Literal:
            return ("lit", args, _expected(args))
        if origin is list:
            return ("list", self.node(args[0], coerce), None, None)
        if origin is dict:
            return ("dict", self.node(args[0], coerce), self.node(args[1], coerce))
        if origin is tuple:
            return ("tuple", tuple(self.node(a, coerce) for a in args))
        if tp is str:
            return ("str", coerce, None, None)
        if tp is int:
            return ("int", ())
        if tp is float:
            return ("float", ())
        if tp is bool:
            return ("bool",)
        if tp is dict:
            return ("dict_any",)
        if tp is tuple:
            return ("tuple_any",)
        if tp is Any:
            return ("any",)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            return ("model", self.model(tp))
        raise TypeError(f"no table form for {tp!r}")

    def _tagged(self, union: Any, discriminator: Discriminator, coerce: bool) -> tuple:
        members = []
        for member in get_args(union):
            tag = next(m.tag for m in get_args(member)[1:] if isinstance(m, Tag))
            members.append((tag, self.node(member, coerce)))
        custom = (discriminator.custom_error_type, discriminator.custom_error_message) \
            if discriminator.custom_error_type else None
        return ("union", _function(discriminator.discriminator), tuple(members), custom)

    def _wrap(self, node: tuple, metadata: list, coerce: bool) -> tuple:
        """`node` with validators and constraints applied in pydantic's order: each before
        validator runs ahead of those listed before it, each after validator after them."""
        for meta in metadata:
            if isinstance(meta, BeforeValidator):
                node = ("before", _function(meta.func), node)
            elif isinstance(meta, AfterValidator):
                node = ("after", node, _function(meta.func))
            elif type(meta) in _CONSTRAINTS:
                node = _constrain(node, _CONSTRAINTS[type(meta)], getattr(meta, _CONSTRAINTS[type(meta)]))
            elif not isinstance(meta, (Tag, Discriminator, WithJsonSchema)):
                raise TypeError(f"no table form for {meta!r}")
        return node


def _constrain(node: tuple, kind: str, bound: Any) -> tuple:
    """The base type inside `node` with one more constraint (pydantic pushes constraints down
    through Optional and validators to the type they bound)."""
    tag = node[0]
    if tag == "nullable":
        return ("nullable", _constrain(node[1], kind, bound))
    if tag == "before":
        return ("before", node[1], _constrain(node[2], kind, bound))
    if tag == "after":
        return ("after", _constrain(node[1], kind, bound), node[2])
    if tag in ("int", "float") and kind in ("ge", "gt", "le", "lt"):
        return (tag, node[1] + ((kind, bound),))
    if tag in ("str", "list") and kind in ("min_length", "max_length"):
        lo, hi = node[-2:]
        return node[:-2] + ((bound, hi) if kind == "min_length" else (lo, bound))
    raise TypeError(f"no table form for {kind}={bound!r} on {tag}")


def _expected(values: tuple) -> str:
    """pydantic's wording of a Literal's values: "'a', 'b' or 'c'"."""
    shown = [repr(v) for v in values]
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " or " + shown[-1]


def generate() -> str:
    """The source text of `core/spec/_tables.py`."""
    from core.spec import dstack, vessl

    walker = _Walker()
    roots = {"vessl-run": walker.model(vessl.VesslRun), "vessl-revision": walker.model(vessl.VesslRevision)}
    roots.update({f"dstack-{kind}": walker.model(cls) for kind, cls in dstack.MODELS.items()})
    lines = [
        '"""The spec models as plain data for `core.spec.validator`, written by',
        "`python -m core.spec.tablegen --write` from the models of core.spec.vessl and core.spec.dstack.",
        'Do not edit: change the models and write it again."""',
        "",
        "from core.spec import " + ", ".join(sorted(PLAIN_MODULES.values())) + "  # noqa: F401",
        "",
        f"ROOTS = {roots!r}",
        "",
    ]
    groups: dict[str, tuple] = {}  # a base class's name -> its fields, written once
    models = {name: (_grouped(walker, walker.classes[name], groups), rules, by_name)
              for name, (_, rules, by_name) in walker.models.items()}
    if groups:
        lines.append("# the fields of base classes, which each subclass begins with")
    for name, fields in groups.items():
        lines.append(f"_{name.strip('_').upper()}_FIELDS = " + _indented(pprint.pformat(fields, width=112), len(name) + 12))
    lines += ["", "MODELS = {"]
    for name, entry in models.items():
        if name in groups:  # a model that is also a base class: its fields are its group
            entry = ((_Code(f"*_{name.strip('_').upper()}_FIELDS"),), *entry[1:])
        lines.append(f"    {name!r}: " + _indented(pprint.pformat(entry, width=112, sort_dicts=False), 6 + len(name)) + ",")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _grouped(walker: _Walker, cls: type[BaseModel], groups: dict[str, tuple]) -> tuple:
    """The fields of `cls`, those it takes unchanged from its nearest base class with fields
    written as that base's group (`*_BASE_FIELDS`), so that each is written once."""
    coerce = bool(cls.model_config.get("coerce_numbers_to_str"))
    fields = tuple(walker._field(name, info, coerce) for name, info in cls.model_fields.items())
    base = next((b for b in cls.__mro__[1:] if issubclass(b, BaseModel) and b.model_fields), None)
    if base is None:
        return fields
    inherited = tuple(walker._field(name, info, coerce) for name, info in base.model_fields.items())
    if repr(fields[:len(inherited)]) != repr(inherited):
        return fields
    if base.__name__ not in groups:
        groups[base.__name__] = _grouped(walker, base, groups)
    return (_Code(f"*_{base.__name__.strip('_').upper()}_FIELDS"), *fields[len(inherited):])


def _indented(text: str, by: int) -> str:
    return text.replace("\n", "\n" + " " * by)


def main(argv: list[str]) -> None:
    text = generate()
    if argv == ["--write"]:
        TABLES.write_text(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main(sys.argv[1:])
