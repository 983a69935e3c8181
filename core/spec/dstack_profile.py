"""dstack's placement and policy sub-objects, shared by every configuration type: utilization
policy, cron schedule, fleet and instance selectors, backend options.

Shapes and limits follow dstack 0.22's `profiles.py` (cron as APScheduler 3 reads a crontab).
"""

from typing import Annotated, Literal, Union

from pydantic import AfterValidator, BeforeValidator, Discriminator, Field, Tag

from core.spec import dstack_rules as rules
from core.spec import grammar
from core.spec.base import SpecModel, by_shape


class UtilizationPolicy(SpecModel):
    """Stop runs whose GPUs stay under-used."""

    min_gpu_utilization: int = Field(ge=0, le=100, description="Minimum GPU utilization, percent.")
    time_window: Annotated[float, BeforeValidator(grammar.parse_strict_duration)] = Field(
        description="Window over which utilization is measured (at least 5m)."
    )

    RULES = (rules.utilization_window,)

# ---------------------------------------------------------------- cron

Cron = Annotated[str, AfterValidator(rules.cron)]


class Schedule(SpecModel):
    """Start the run on a cron schedule (UTC)."""

    cron: by_shape(str=Cron, list=Annotated[list[Cron], AfterValidator(rules.cron_list)]) = Field(
        description="Cron expression(s), UTC, e.g. `0 8 * * mon-fri`."
    )


# ---------------------------------------------------------------- fleets and instances

class EntityReference(SpecModel):
    """A fleet of this project (`name`) or of another one (`project` and `name`)."""

    project: str | None = Field(None, description="Project name; omitted = this project.")
    name: str = Field(description="Fleet name.")


FleetReference = by_shape(str=Annotated[str, AfterValidator(rules.entity)], dict=EntityReference)


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


InstanceSelector = by_shape(
    str=Annotated[str, AfterValidator(rules.instance_name)],
    dict=Annotated[
        Union[Annotated[InstanceName, Tag("by-name")], Annotated[InstanceHostname, Tag("by-hostname")],
              Annotated[FleetInstance, Tag("by-fleet")]],
        Discriminator(rules.selector_kind),
    ],
)


# ---------------------------------------------------------------- backend options

class VastAIOptions(SpecModel):
    """Options of offers from Vast.ai."""

    type: Literal["vastai"] = Field("vastai", description="Backend the options apply to: vastai.")
    offer_order: Literal["score", "price"] | None = Field(None, description="Consider offers by score or by price.")
    min_reliability: float | None = Field(None, ge=0, le=1, description="Lowest offer reliability, 0..1.")
    min_score: int | None = Field(None, ge=0, description="Lowest overall offer score.")


BackendOptions = Annotated[list[VastAIOptions], AfterValidator(rules.one_per_backend)]
