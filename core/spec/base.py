"""Building blocks shared by the VESSL and dstack models.

`SpecModel` is strict (`extra="forbid"`) and reads numbers where strings are expected, as YAML
users write them. `by_shape` builds a union that picks its member by the input's shape (mapping,
list, string, number, bool), so that errors point inside the member the user meant.
`FieldError` lets a cross-field rule name the field that an error belongs to.
"""

from collections.abc import Callable
from typing import Annotated, Any, ClassVar, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Discriminator, Tag, WithJsonSchema, model_validator

from core.spec import grammar
from core.spec.checks import scalar_text, shape_of
from core.spec.quantities import GpuSpec, Range


class SpecModel(BaseModel):
    """Base of every spec model: unknown keys are errors; numbers are accepted as strings.

    `RULES` are the model's cross-field rules: plain functions of the validated model, run in
    order once its fields are valid, each raising `FieldError` (or ValueError) for a broken rule.
    """

    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True, defer_build=True)
    RULES: ClassVar[tuple[Callable[[Any], None], ...]] = ()

    @model_validator(mode="after")
    def _rules(self) -> "SpecModel":
        for rule in self.RULES:
            rule(self)
        return self


#: A string field that also takes YAML numbers and booleans, as the text a shell would see.
Text = Annotated[str, BeforeValidator(scalar_text)]


def by_shape(**members: Any) -> Any:
    """A union whose member is chosen by the input's shape: by_shape(str=str, dict=Model)."""
    union = Union[tuple(Annotated[t, Tag(k)] for k, t in members.items())]  # type: ignore[misc]
    return Annotated[union, Discriminator(shape_of)]


def _schema(**schema: Any) -> WithJsonSchema:
    return WithJsonSchema(schema)


_RANGE_SCHEMA = {"type": "object", "properties": {"min": {}, "max": {}}, "additionalProperties": False}

MemoryRange = Annotated[
    Range,
    BeforeValidator(grammar.memory_bounds),
    _schema(anyOf=[{"type": "string", "examples": ["16GB", "16GB..", "8GB..64GB"]}, {"type": "number"},
                   _RANGE_SCHEMA]),
]
CountRange = Annotated[
    Range,
    BeforeValidator(grammar.count_bounds),
    _schema(anyOf=[{"type": "string", "examples": ["2", "1..4", "2.."]}, {"type": "integer"}, _RANGE_SCHEMA]),
]
DiskRange = Annotated[
    Range,
    BeforeValidator(grammar.disk_bounds),
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
    BeforeValidator(grammar.gpu_fields),
    _schema(anyOf=[
        {"type": "string", "examples": ["A100:80GB:2", "24GB..:1..2", "H100:8", "A10,A10G:2", "amd:MI300X:8"]},
        {"type": "integer"},
        {"type": "object", "properties": {k: {} for k in sorted(grammar._GPU_KEYS)}, "additionalProperties": False},
    ]),
]
CpuField = Annotated[
    tuple,
    BeforeValidator(grammar.cpu_fields),
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
    BeforeValidator(grammar.parse_strict_duration),
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
