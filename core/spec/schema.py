"""JSON Schema export, field help for the editor, and the starter templates."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Union

from pydantic import BaseModel, Field, TypeAdapter

from core.spec import dstack, vessl
from core.spec.models import field_of as _field
from core.spec.models import models_in as _models_in

FORMATS = ("vessl", "dstack", "revision")
_SEGMENT = re.compile(r'\["([^"]*)"\]|([^.\[\]]+)')
TEMPLATES_DIR = Path(__file__).parent / "templates"


def _root_models(kind: str) -> list[type[BaseModel]]:
    """Models for a format name or SpecKind: vessl, vessl-run, revision, dstack, dstack-task, task, …"""
    kind = kind.removeprefix("dstack-")
    if kind in ("vessl", "vessl-run", "run"):
        return [vessl.VesslRun]
    if kind in ("revision", "vessl-revision"):
        return [vessl.VesslRevision]
    if kind in dstack.MODELS:
        return [dstack.MODELS[kind]]
    if kind == "dstack":
        return list(dstack.MODELS.values())
    return []


@lru_cache(maxsize=None)
def json_schema(fmt: str) -> dict:
    """JSON Schema of a format: vessl (run YAML), dstack (any configuration type) or revision."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format `{fmt}`: use one of {', '.join(FORMATS)}")
    if fmt == "dstack":
        union = Annotated[Union[tuple(dstack.MODELS.values())], Field(discriminator="type")]  # type: ignore[misc]
        schema = TypeAdapter(union).json_schema(by_alias=True)
        schema["title"] = "dstack configuration"
    else:
        model = vessl.VesslRevision if fmt == "revision" else vessl.VesslRun
        schema = model.model_json_schema(by_alias=True)
        schema["title"] = "VESSL Serve revision" if fmt == "revision" else "VESSL run"
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


def field_help(kind: str, path: str) -> str | None:
    """Description of the field at `path` (e.g. `resources.gpu`, `ports[0].type`) in `kind`."""
    parts = [q or w for q, w in _SEGMENT.findall(path)]
    models = _root_models(kind)
    info = None
    i = 0
    while i < len(parts):
        part = parts[i]
        i += 1
        infos = [f for m in models if (f := _field(m, part)) is not None]
        if not infos and "." in path:  # an unquoted dotted key such as nvidia.com/gpu
            for j in range(i + 1, len(parts) + 1):
                joined = ".".join(parts[i - 1:j])
                infos = [f for m in models if (f := _field(m, joined)) is not None]
                if infos:
                    del parts[i:j]
                    break
        if not infos:
            if i == 1:
                return None
            if not models:  # inside a leaf (a list item, a map of scalars): the leaf's help
                break
            if "dict[" in str(info.annotation):
                continue  # a map key (env name, container path): stay on the same models
            return None
        info = infos[0]
        models = [m for f in infos for m in _models_in(f.annotation)]
    return info.description if info is not None else None


def templates() -> dict[str, str]:
    """Starter specs by name (file stem): each valid and runnable on the `local` cluster."""
    return {p.stem: p.read_text(encoding="utf-8") for p in sorted(TEMPLATES_DIR.glob("*.yaml"))}
