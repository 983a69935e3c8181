"""Building blocks shared by the VESSL and dstack models.

`SpecModel` is strict (`extra="forbid"`) and reads numbers where strings are expected, as YAML
users write them. `by_shape` builds a union that picks its member by the input's shape (mapping,
list, string, number, bool), so that errors point inside the member the user meant.
`FieldError` lets a cross-field rule name the field that an error belongs to.
"""

from __future__ import annotations

from typing import Annotated, Any, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Discriminator, Tag, WithJsonSchema

from core.spec import grammar
from core.spec.runspec import GpuSpec, Range


class SpecModel(BaseModel):
    """Base of every spec model: unknown keys are errors; numbers are accepted as strings."""

    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True, defer_build=True)


def scalar_text(value: Any) -> Any:
    """YAML scalars as the text a shell would see: true -> "true", 1 -> "1"."""
    if value.__class__ is str:  # nearly always: no further checks
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return value


#: A string field that also takes YAML numbers and booleans, as the text a shell would see.
Text = Annotated[str, BeforeValidator(scalar_text)]


class FieldError(ValueError):
    """A rule broken by `field` (a dotted path relative to the model that raises it).

    `more` carries further rules broken in the same model, so that a cross-field check reports
    every conflict, each at its own field (see `raise_all`).
    """

    def __init__(self, field: str, message: str, more: tuple["FieldError", ...] = ()):
        super().__init__(message)
        self.field = field
        self.more = more

    def each(self) -> list["FieldError"]:
        """This error and every one carried with it."""
        return [self, *self.more]


def raise_all(errors: list[FieldError]) -> None:
    """Raise every error of `errors` at once (nothing when it is empty)."""
    if errors:
        first = errors[0]
        raise FieldError(first.field, str(first), tuple(errors[1:]))


def shape_of(value: Any) -> str:
    if value.__class__ is str:
        return "str"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, dict):
        return "dict"
    if isinstance(value, list):
        return "list"
    if isinstance(value, (int, float)):
        return "number"
    if value is None:
        return "null"
    return "str"


SHAPE_NAMES = {"bool": "true/false", "dict": "a mapping", "list": "a list", "number": "a number",
               "str": "a string", "null": "nothing"}


def by_shape(**members: Any) -> Any:
    """A union whose member is chosen by the input's shape: by_shape(str=str, dict=Model)."""
    union = Union[tuple(Annotated[t, Tag(k)] for k, t in members.items())]  # type: ignore[misc]
    return Annotated[union, Discriminator(shape_of)]


def _schema(**schema: Any) -> WithJsonSchema:
    return WithJsonSchema(schema)


_RANGE_SCHEMA = {"type": "object", "properties": {"min": {}, "max": {}}, "additionalProperties": False}

MemoryRange = Annotated[
    Range,
    BeforeValidator(grammar.parse_memory_range),
    _schema(anyOf=[{"type": "string", "examples": ["16GB", "16GB..", "8GB..64GB"]}, {"type": "number"},
                   _RANGE_SCHEMA]),
]
CountRange = Annotated[
    Range,
    BeforeValidator(grammar.parse_count_range),
    _schema(anyOf=[{"type": "string", "examples": ["2", "1..4", "2.."]}, {"type": "integer"}, _RANGE_SCHEMA]),
]
DiskRange = Annotated[
    Range,
    BeforeValidator(grammar.parse_disk),
    _schema(anyOf=[{"type": "string", "examples": ["100GB", "200GB.."]}, {"type": "number"},
                   {"type": "object", "properties": {"size": {}}, "additionalProperties": False}]),
]
Memory = Annotated[
    float,
    BeforeValidator(grammar.parse_memory),
    _schema(anyOf=[{"type": "string", "examples": ["16GB", "512MB"]}, {"type": "number"}]),
]
GpuField = Annotated[
    GpuSpec,
    BeforeValidator(grammar.parse_gpu),
    _schema(anyOf=[
        {"type": "string", "examples": ["A100:80GB:2", "24GB..:1..2", "H100:8", "A10,A10G:2", "amd:MI300X:8"]},
        {"type": "integer"},
        {"type": "object", "properties": {k: {} for k in sorted(grammar._GPU_KEYS)}, "additionalProperties": False},
    ]),
]
CpuField = Annotated[
    tuple,
    BeforeValidator(grammar.parse_cpu),
    _schema(anyOf=[{"type": "string", "examples": ["4", "2..8", "arm:4", "x86"]}, {"type": "integer"},
                   {"type": "object"}]),
]
Duration = Annotated[
    Union[float, None],
    BeforeValidator(grammar.parse_duration),
    _schema(anyOf=[{"type": "string", "examples": ["30s", "90m", "2h", "1d", "off"]}, {"type": "number"},
                   {"type": "boolean", "const": False}]),
]
StrictDuration = Annotated[
    float,
    BeforeValidator(lambda v: grammar.parse_duration(v, allow_off=False)),
    _schema(anyOf=[{"type": "string", "examples": ["30s", "90m", "2h"]}, {"type": "number"}]),
]
PortNumber = Annotated[
    int,
    BeforeValidator(grammar.parse_port_number),
    _schema(type="integer", minimum=1, maximum=65535),
]
PortMapping = Annotated[
    tuple,
    BeforeValidator(grammar.parse_port_mapping),
    _schema(anyOf=[{"type": "integer", "minimum": 1, "maximum": 65535},
                   {"type": "string", "examples": ["8080:80", "*:9000"]},
                   {"type": "object", "properties": {"local_port": {}, "container_port": {}}}]),
]
