"""dstack's placement and policy sub-objects, shared by every configuration type: utilization
policy, cron schedule, fleet and instance selectors, backend options.

Shapes and limits follow dstack 0.22's `profiles.py` (cron as APScheduler 3 reads a crontab).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, Union

from pydantic import AfterValidator, BeforeValidator, Discriminator, Field, Tag, model_validator

from core.spec import grammar
from core.spec.base import FieldError, SpecModel, by_shape


class UtilizationPolicy(SpecModel):
    """Stop runs whose GPUs stay under-used."""

    min_gpu_utilization: int = Field(ge=0, le=100, description="Minimum GPU utilization, percent.")
    time_window: Annotated[float, BeforeValidator(lambda v: grammar.parse_duration(v, allow_off=False))] = Field(
        description="Window over which utilization is measured (at least 5m)."
    )

    @model_validator(mode="after")
    def _window(self) -> "UtilizationPolicy":
        if self.time_window < 300:
            raise FieldError("time_window", "time_window must be at least 5m")
        return self


# ---------------------------------------------------------------- cron

_CRON_FIELDS = (  # name, lowest, highest, names allowed in place of numbers
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of month", 1, 31, ()),
    ("month", 1, 12, ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")),
    ("day of week", 0, 6, ("mon", "tue", "wed", "thu", "fri", "sat", "sun")),
)
_CRON_ITEM = re.compile(r"^(?:(\*)|([0-9a-z]+)(?:-([0-9a-z]+))?)(?:/(\d+))?$", re.I)


def _cron_value(text: str, field: tuple) -> int:
    name, lo, hi, names = field
    if text.isdigit():
        value = int(text)
    elif text.lower() in names:
        value = names.index(text.lower()) + lo
    else:
        raise ValueError(f"`{text}` is not a valid {name}")
    if not lo <= value <= hi:
        raise ValueError(f"{name} `{text}` is out of range {lo}..{hi}")
    return value


def _cron_item(item: str, field: tuple) -> None:
    name, lo, hi, _ = field
    if name == "day of month" and item.lower() == "last":
        return
    match = _CRON_ITEM.match(item)
    if not match:
        raise ValueError(f"`{item}` is not a valid {name}")
    star, first, last, step = match.groups()
    if step is not None and int(step) == 0:
        raise ValueError(f"the step in `{item}` must be above 0")
    if star:
        if step is not None and int(step) > hi - lo:
            raise ValueError(f"the step in `{item}` is larger than the {name} range {lo}..{hi}")
        return
    start = _cron_value(first, field)
    if last is not None and _cron_value(last, field) < start:
        raise ValueError(f"`{item}` is a backwards range")


def _cron(expression: str) -> str:
    fields = expression.split()
    if len(fields) != 5:
        raise ValueError(f"a cron expression has 5 fields (minute hour day month weekday), "
                         f"`{expression}` has {len(fields)}")
    for text, field in zip(fields, _CRON_FIELDS):
        for item in text.split(","):
            _cron_item(item.strip(), field)
    return expression


def _cron_list(value: list[str]) -> list[str]:
    if not value:
        raise ValueError("give at least one cron expression")
    return value


Cron = Annotated[str, AfterValidator(_cron)]


class Schedule(SpecModel):
    """Start the run on a cron schedule (UTC)."""

    cron: by_shape(str=Cron, list=Annotated[list[Cron], AfterValidator(_cron_list)]) = Field(
        description="Cron expression(s), UTC, e.g. `0 8 * * mon-fri`."
    )


# ---------------------------------------------------------------- fleets and instances

def _entity(value: Any) -> Any:
    """`name` or `project/name`, as dstack reads an entity reference string."""
    if isinstance(value, str):
        parts = value.split("/")
        if len(parts) > 2 or not all(parts):
            raise ValueError(f"`{value}` is not a reference: write `name` or `project/name`")
    return value


class EntityReference(SpecModel):
    """A fleet of this project (`name`) or of another one (`project` and `name`)."""

    project: str | None = Field(None, description="Project name; omitted = this project.")
    name: str = Field(description="Fleet name.")


FleetReference = by_shape(str=Annotated[str, AfterValidator(_entity)], dict=EntityReference)


class InstanceName(SpecModel):
    """An instance of a fleet, by name."""

    name: str = Field(min_length=1, description="Instance name.")


class InstanceHostname(SpecModel):
    """An instance of a fleet, by host name or IP address."""

    hostname: str = Field(min_length=1, description="Host name or IP address of the instance.")


class FleetInstance(SpecModel):
    """An instance of a fleet, by its number in the fleet."""

    fleet: FleetReference = Field(description="Fleet: `name`, `project/name` or {project, name}.")
    instance: int = Field(ge=0, description="Instance number in the fleet.")


def _selector_kind(value: Any) -> str:
    """The selector a mapping means (tags differ from field names so that error paths stay exact)."""
    if "hostname" in value:
        return "by-hostname"
    return "by-fleet" if "fleet" in value or "instance" in value else "by-name"


def _instance_name(value: str) -> str:
    if not value:
        raise ValueError("an instance name cannot be empty")
    return value


InstanceSelector = by_shape(
    str=Annotated[str, AfterValidator(_instance_name)],
    dict=Annotated[
        Union[Annotated[InstanceName, Tag("by-name")], Annotated[InstanceHostname, Tag("by-hostname")],
              Annotated[FleetInstance, Tag("by-fleet")]],
        Discriminator(_selector_kind),
    ],
)


# ---------------------------------------------------------------- backend options

class VastAIOptions(SpecModel):
    """Options of offers from Vast.ai."""

    type: Literal["vastai"] = Field("vastai", description="Backend the options apply to: vastai.")
    offer_order: Literal["score", "price"] | None = Field(None, description="Consider offers by score or by price.")
    min_reliability: float | None = Field(None, ge=0, le=1, description="Lowest offer reliability, 0..1.")
    min_score: int | None = Field(None, ge=0, description="Lowest overall offer score.")


def _one_per_backend(options: list[VastAIOptions]) -> list[VastAIOptions]:
    seen: set[str] = set()
    for index, option in enumerate(options):
        if option.type in seen:
            raise FieldError(str(index), f"backend `{option.type}` already has options above; merge them")
        seen.add(option.type)
    return options


BackendOptions = Annotated[list[VastAIOptions], AfterValidator(_one_per_backend)]
