"""The rules of dstack configurations as plain functions: names, commands, volumes, probes, rate
limits, replica groups, cron, fleet references, and each model's cross-field rules (`RULES`).

The models of `core.spec.dstack` run them. A rule takes the validated model (anything with its fields as attributes) and raises
`FieldError` naming the field at fault.
"""

from __future__ import annotations

import re
from typing import Any

from core.spec import grammar
from core.spec.checks import FieldError, raise_all, scalar_text

PYTHON_VERSIONS = ("3.9", "3.10", "3.11", "3.12", "3.13", "3.14", "3.15")


_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def env_name(name: str) -> str:
    if not _ENV_NAME.match(name):
        raise ValueError(f"invalid variable name `{name}`: use letters, digits and _, not starting with a digit")
    return name


def env_item(item: Any) -> str:
    if isinstance(item, dict):
        raise ValueError("expected `NAME=value` or `NAME`; YAML read a mapping here (is there a `: `?)")
    item = scalar_text(item)
    if not isinstance(item, str):
        raise ValueError(f"expected `NAME=value` or `NAME`, got {'nothing' if item is None else item!r}")
    env_name(item.split("=", 1)[0])
    return item


def command_line(value: Any) -> Any:
    if isinstance(value, dict) and len(value) == 1:
        key, val = next(iter(value.items()))
        raise ValueError(
            f"YAML read this line as a mapping because it contains `: `; quote the whole line: "
            f"- '{key}: {val}'"
        )
    return scalar_text(value)


def python_version(value: Any) -> str:
    if isinstance(value, float):
        value = "3.10" if value == 3.1 else f"{value:g}"
    text = str(value).strip()
    if text not in PYTHON_VERSIONS:
        raise ValueError(f"python must be one of {', '.join(PYTHON_VERSIONS)}; got `{text}`")
    return text


def volume_string(value: str) -> str:
    source, sep, path = value.partition(":")
    if not sep or not source or not path:
        raise ValueError(f"a volume is `name:/path` or `/host/path:/path`, got `{value}`")
    return value


def image_conflicts(model: Any, where: str = "") -> list[FieldError]:
    """Every clash of `image` with `python` and of `docker: true` with `image`, `python` or `nvcc`
    (dstack lets `nvcc` stand beside `image`), each reported at the clashing field."""
    errors = []
    if model.image is not None and model.python is not None:
        errors.append(FieldError("python", f"`image` and `python` are mutually exclusive{where}"))
    if model.docker:
        errors += [FieldError(other, f"`docker: true` and `{other}` are mutually exclusive{where}")
                   for other in ("image", "python", "nvcc") if getattr(model, other) is not None]
    return errors


_GROUP_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")


def group_name(name: str) -> str:
    if not _GROUP_NAME.match(name):
        raise ValueError(f"invalid group name `{name}`: use up to 40 lowercase letters, digits and `-`, "
                         "starting with a letter or digit")
    return name


def some_groups(groups: list) -> list:
    if not groups:
        raise ValueError("`groups` cannot be an empty list; give at least one group")
    return groups


def _duplicate_names(groups: list, where: str) -> list[FieldError]:
    """Groups need unique names; an unnamed group is called by its index."""
    seen: set[str] = set()
    errors = []
    for index, group in enumerate(groups):
        name = group.name if group.name is not None else str(index)
        if name in seen:
            errors.append(FieldError(f"{where}.{index}.name", f"another group above is already named `{name}`"))
        seen.add(name)
    return errors


def _needs_commands(commands: list, image: str | None, message: str) -> list[FieldError]:
    return [] if commands or image is not None else [FieldError("commands", f"nothing to run: {message}")]


def scaling_window(seconds: float) -> float:
    if seconds not in (30, 60, 300):
        raise ValueError(f"the window is 30s, 60s or 300s; got {seconds:g}s")
    return seconds


def probe_url(url: str) -> str:
    if not url.startswith("/"):
        raise ValueError(f"a probe URL is a path starting with `/`, got `{url}`")
    if len(url) > 2048:
        raise ValueError("a probe URL is at most 2048 characters")
    if not url.isprintable():
        raise ValueError("a probe URL cannot hold control characters")
    return url


def at_least_one_second(seconds: float) -> float:
    if seconds < 1:
        raise ValueError(f"must be at least 1s, got {seconds:g}s")
    return seconds


def unique_probes(probes: list) -> list:
    seen: list = []
    errors = []
    for index, probe in enumerate(probes):
        if probe in seen:
            errors.append(FieldError(str(index), "the same probe is given twice"))
        seen.append(probe)
    raise_all(errors)
    return probes


def rate_prefix(prefix: str) -> str:
    if not re.match(r"^/[^\s\\{}]*$", prefix):
        raise ValueError(f"a prefix is a URL path starting with `/`, without spaces, `\\`, `{{` or `}}`; got `{prefix}`")
    if len(prefix) > 4094:
        raise ValueError("a prefix is at most 4094 characters")
    return prefix


def header_name(name: str) -> str:
    if not re.match(r"^[a-zA-Z0-9_-]+$", name) or len(name) > 500:
        raise ValueError(f"a header name is letters, digits, `-` and `_`; got `{name}`")
    return name


def rps(rps: float) -> float:
    if not 1 / 60 <= rps <= (2**63 - 1) // 60:
        raise ValueError(f"rps must be at least 1/60 (one request a minute), got {rps:g}")
    return rps


def key_type(value: Any) -> str | None:
    """The key a mapping means (tags differ from field names so that error paths stay exact)."""
    kind = value.get("type") if isinstance(value, dict) else None
    return {"ip_address": "by-ip", "header": "by-header"}.get(kind) if isinstance(kind, str) else None


def unique_prefixes(limits: list) -> list:
    seen: set[str] = set()
    errors = []
    for index, limit in enumerate(limits):
        if limit.prefix in seen:
            errors.append(FieldError(f"{index}.prefix", f"prefix `{limit.prefix}` already has a rate limit above"))
        seen.add(limit.prefix)
    raise_all(errors)
    return limits


def replica_count_bounds(value: Any) -> dict:
    """A replica count or range as {min, max}: the most replicas must be given; no least means 0."""
    count = grammar.count_bounds(value)
    if count["max"] is None:
        raise ValueError(f"give the most replicas too, e.g. `{int(count['min'] or 0)}..4`")
    if count["min"] is None:
        count["min"] = 0
    return count


def _scaling_rules(replicas: Any, scaling: Any, field: str) -> list[FieldError]:
    """A range of replicas needs `scaling`; `scaling` needs a range (as dstack rules both)."""
    if replicas is None:
        return []
    if replicas.min != replicas.max and scaling is None:
        return [FieldError(field, "a range of replicas needs `scaling`, e.g. scaling: {metric: rps, target: 10}")]
    if replicas.min == replicas.max and scaling is not None:
        return [FieldError("scaling", f"`scaling` needs a range of replicas, e.g. `{field}: 1..4`")]
    return []


# Fields a replica group may set only where the service does not: (field, is it set at the service?).
_SERVICE_OR_GROUP = (
    ("image", lambda s: s.image is not None), ("docker", lambda s: s.docker is True),
    ("privileged", lambda s: s.privileged is True), ("python", lambda s: s.python is not None),
    ("nvcc", lambda s: s.nvcc is True), ("spot_policy", lambda s: s.spot_policy is not None),
    ("reservation", lambda s: s.reservation is not None),
)


# Image sources that clash across levels: service field -> group fields it excludes.
_CROSS_LEVEL = {"image": ("docker", "python", "nvcc"), "docker": ("image", "python", "nvcc"),
                "python": ("image", "docker"), "nvcc": ("image", "docker")}


def _group_errors(service: Any, group: Any) -> list[FieldError]:
    errors = []
    for field, service_sets in _SERVICE_OR_GROUP:
        if service_sets(service) and getattr(group, field) is not None:
            errors.append(FieldError(field, f"`{field}` is also set at the service level; "
                                            "set it in one place only (the service, or each group)"))
    for field, excluded in _CROSS_LEVEL.items():
        if dict(_SERVICE_OR_GROUP)[field](service):
            errors += [FieldError(other, f"the service's `{field}` and a group's `{other}` are mutually exclusive")
                       for other in excluded if getattr(group, other) is not None]
    if not group.commands and group.image is None and service.image is None:
        errors.append(FieldError("commands", "nothing to run: give the group `commands` or an `image`, "
                                             "or the service an `image`"))
    return errors


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


def cron(expression: str) -> str:
    fields = expression.split()
    if len(fields) != 5:
        raise ValueError(f"a cron expression has 5 fields (minute hour day month weekday), "
                         f"`{expression}` has {len(fields)}")
    for text, field in zip(fields, _CRON_FIELDS):
        for item in text.split(","):
            _cron_item(item.strip(), field)
    return expression


def cron_list(value: list[str]) -> list[str]:
    if not value:
        raise ValueError("give at least one cron expression")
    return value


def entity(value: Any) -> Any:
    """`name` or `project/name`, as dstack reads an entity reference string."""
    if isinstance(value, str):
        parts = value.split("/")
        if len(parts) > 2 or not all(parts):
            raise ValueError(f"`{value}` is not a reference: write `name` or `project/name`")
    return value


def selector_kind(value: Any) -> str:
    """The selector a mapping means (tags differ from field names so that error paths stay exact)."""
    if "hostname" in value:
        return "by-hostname"
    return "by-fleet" if "fleet" in value or "instance" in value else "by-name"


def instance_name(value: str) -> str:
    if not value:
        raise ValueError("an instance name cannot be empty")
    return value


def one_per_backend(options: list) -> list:
    seen: set[str] = set()
    for index, option in enumerate(options):
        if option.type in seen:
            raise FieldError(str(index), f"backend `{option.type}` already has options above; merge them")
        seen.add(option.type)
    return options



def volume_kind(value: Any) -> str:
    """The long volume form a mapping is: a host directory (`instance_path`) or a named volume."""
    return "instance" if isinstance(value, dict) and "instance_path" in value else "named"


def service_port(value: Any) -> tuple:
    """A service `port`: `8000` (local 80) or `local:container`."""
    if isinstance(value, str) and ":" in value:
        return grammar.parse_port_mapping(value)
    return 80, grammar.parse_port_number(value)


def count_field(group: Any) -> str:
    """The field a replica group gives its count in: `replicas`, or its former name `count`."""
    return "count" if group.replicas is None and group.count is not None else "replicas"


def replica_count(group: Any) -> Any:
    """A replica group's replica range, from `replicas` or `count`."""
    return group.replicas if group.replicas is not None else group.count


# ---------------------------------------------------------------- cross-field rules (RULES)

def image_rules(run: Any) -> None:
    """`image`, `python` and `docker` do not clash."""
    raise_all(image_conflicts(run))


def one_repo_source(repo: Any) -> None:
    """A repository is local or remote, not both."""
    if repo.local_path and repo.url:
        raise FieldError("url", "`local_path` and `url` are mutually exclusive")


def task_groups(task: Any) -> None:
    """A task has something to run; with `groups`, each group does and top-level fields move in."""
    if task.groups is None:
        raise_all(_needs_commands(task.commands, task.image, "give the task `commands` or an `image`"))
        return
    errors = [FieldError(other, f"`{other}` cannot be used with `groups`; put it in each group")
              for other in ("nodes", "commands", "ports", "entrypoint")
              if getattr(task, other) not in (None, [])]
    errors += _duplicate_names(task.groups, "groups")
    errors += [FieldError(f"groups.{i}.{e.field}", str(e)) for i, g in enumerate(task.groups)
               for e in _needs_commands(g.commands, task.image, "give the group `commands`, or the task an `image`")]
    raise_all(errors)


def probe_body(probe: Any) -> None:
    """Only a request that may carry a body has one."""
    if probe.body is not None and (probe.method or "get") in ("get", "head"):
        raise FieldError("body", f"a `{probe.method or 'get'}` request cannot have a body; "
                                 "set `method: post` (or put, patch)")


def replica_group_rules(group: Any) -> None:
    """A replica group's image sources, count and scaling agree."""
    errors = image_conflicts(group, " within a replica group")
    if replica_count(group) is None:
        errors.append(FieldError("replicas", "missing required field `replicas`"))
    if group.privileged is False and group.docker:
        errors.append(FieldError("privileged", "`privileged: false` cannot go with `docker: true` "
                                               "(Docker-in-Docker runs privileged)"))
    raise_all(errors + _scaling_rules(replica_count(group), group.scaling, count_field(group)))


def service_replicas(service: Any) -> None:
    """Replicas and scaling agree; with replica groups, each group and the service agree."""
    groups, where = (service.groups, "groups") if service.groups is not None else (
        (service.replicas, "replicas") if isinstance(service.replicas, list) else (None, ""))
    if groups is None:
        raise_all(_scaling_rules(service.replicas, service.scaling, "replicas")
                  + _needs_commands(service.commands, service.image, "give the service `commands` or an `image`"))
        return
    errors = [FieldError(other, f"top-level `{other}` cannot be used with replica groups; put it in each group")
              for other in ("scaling", "commands") if getattr(service, other)]
    if service.groups is not None and service.replicas is not None:
        errors.append(FieldError("replicas", "`replicas` and `groups` are mutually exclusive; "
                                             "give each group its `replicas`"))
    errors += _duplicate_names(groups, where)
    for index, group in enumerate(groups):
        errors += [FieldError(f"{where}.{index}.{e.field}", str(e)) for e in _group_errors(service, group)]
    routers = [(i, g) for i, g in enumerate(groups) if g.router is not None]
    errors += [FieldError(f"{where}.{i}.router", "only one replica group may have a `router`") for i, _ in routers[1:]]
    if routers:
        i, g = routers[0]
        count = replica_count(g)
        if count is None or (count.min, count.max) != (1, 1):
            errors.append(FieldError(f"{where}.{i}.{count_field(g)}", "a group with a `router` must have `replicas: 1`"))
    raise_all(errors)


def ide_version(env: Any) -> None:
    """An IDE version needs the IDE."""
    if env.version is not None and env.ide is None:
        raise FieldError("version", "`version` needs `ide`")


def utilization_window(policy: Any) -> None:
    """The utilization window is at least 5 minutes."""
    if policy.time_window < 300:
        raise FieldError("time_window", "time_window must be at least 5m")


# Fields that moved or never existed in a type: what to tell the user instead of "unknown field".
RENAMED: dict[tuple[str, str], str] = {
    ("*", "termination_idle_time"): "it is called `idle_duration` now",
    ("*", "termination_policy"): "use `idle_duration` instead",
    ("*", "backend"): "the field is `backends`, a list: `backends: [runpod]`",
    ("*", "build"): "`build` was replaced by `commands` (tasks, services) and `init` (dev environments)",
    ("*", "command"): "the field is `commands`, a list of shell lines",
    ("*", "gpu"): "`gpu` goes under `resources`: `resources: {gpu: ...}`",
    ("*", "cpu"): "`cpu` goes under `resources`",
    ("*", "memory"): "`memory` goes under `resources`",
    ("*", "disk"): "`disk` goes under `resources`",
    ("*", "resources.count"): "the GPU count goes under `gpu`: `gpu: {count: 2}` or `gpu: 24GB:2`",
    ("service", "router"): "`router` moved into each replica group (`replicas` / `groups` items)",
    ("task", "ide"): "`ide` is for `type: dev-environment` only",
    ("service", "ide"): "`ide` is for `type: dev-environment` only",
    ("task", "port"): "a task takes `ports` (a list); `port` is for services",
    ("dev-environment", "port"): "a dev-environment takes `ports` (a list); `port` is for services",
    ("task", "model"): "`model` is for `type: service` only",
    ("dev-environment", "model"): "`model` is for `type: service` only",
    ("dev-environment", "commands"): "a dev-environment takes `init`, not `commands`",
    ("fleet", "commands"): "a fleet runs nothing; put commands in a task",
    ("task", "init"): "a task takes `commands`; `init` is for dev-environments",
    ("service", "init"): "a service takes `commands`; `init` is for dev-environments",
    ("task", "replicas"): "`replicas` is for `type: service` only",
    ("task", "inactivity_duration"): "`inactivity_duration` is for dev-environments; a task takes `max_duration`",
}
