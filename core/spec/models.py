"""The root model of each spec kind, its validator, and what the models say about their fields.

`adapter(kind)` is the one cached `TypeAdapter` of a kind's root model (`vessl-run`, `dstack-task`,
…): built on first use, so a VESSL spec never builds dstack's models. `known_fields(kind, parts)`
lists the fields an unknown key at `parts` could have meant.
"""

from __future__ import annotations

import importlib
from functools import lru_cache
from typing import Any, get_args

from pydantic import BaseModel, TypeAdapter

KINDS = ("vessl-run", "vessl-revision", "dstack-task", "dstack-service", "dstack-dev-environment", "dstack-fleet")


def model_of(kind: str) -> type[BaseModel]:
    """The root model class of a spec kind (`vessl-run`, `dstack-task`, …)."""
    family, _, typ = kind.partition("-")
    module = importlib.import_module("core.spec.dstack" if family == "dstack" else "core.spec.vessl")
    if family == "dstack":
        return module.MODELS[typ]
    return module.VesslRevision if typ == "revision" else module.VesslRun


@lru_cache(maxsize=None)
def adapter(kind: str) -> TypeAdapter:
    """The validator of a spec kind's root model, built once."""
    return TypeAdapter(model_of(kind))


def models_in(tp: Any) -> list[type[BaseModel]]:
    """The models a field's annotation holds (through unions, lists, dicts, Annotated)."""
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return [tp]
    return [m for arg in get_args(tp) for m in models_in(arg)]


def field_of(model: type[BaseModel], name: Any):
    """The FieldInfo a key names in `model` (by field name or alias), or None."""
    for fname, info in model.model_fields.items():
        if name == fname or name == info.alias:
            return info
    return None


def known_fields(kind: str, parts: tuple) -> list[str]:
    """The field names (aliases where given) of the mapping at `parts` of a `kind` document, best
    effort through unions, lists and dicts: what an unknown key there could have meant."""
    found = [model_of(kind)]
    for part in parts:
        if isinstance(part, str):
            infos = [info for m in found if (info := field_of(m, part)) is not None]
            found = [m for info in infos for m in models_in(info.annotation)] or found
    names: list[str] = []
    for m in found:
        for fname, info in m.model_fields.items():
            if (info.alias or fname) not in names:
                names.append(info.alias or fname)
    return names
