"""dstack configurations (`type: task | service | dev-environment | fleet`) as strict models.

Field names, shapes and rules follow dstack 0.22's parser; `to_runspec()` maps a validated
configuration into the normalized `RunSpec`.
"""

from __future__ import annotations

import os
import re
from typing import Annotated, Any, Literal, Union

from pydantic import AfterValidator, BeforeValidator, Discriminator, Field, Tag, model_validator

from core.spec import grammar
from core.spec.base import (
    CountRange, CpuField, DiskRange, Duration, FieldError, GpuField, Memory, MemoryRange,
    PortMapping, SpecModel, Text, by_shape, raise_all, scalar_text,
)
from core.spec.dstack_profile import (
    BackendOptions, FleetReference, InstanceSelector, Schedule, UtilizationPolicy,
)
from core.spec.runspec import Autoscaling, Interactive, Port, Range, Retry, RunSpec, ServiceSpec

PYTHON_VERSIONS = ("3.9", "3.10", "3.11", "3.12", "3.13", "3.14", "3.15")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SECRET_NAME = re.compile(r"TOKEN|KEY|SECRET|PASSW|CREDENTIAL|AUTH")  # searched in the upper-cased name


def _env_name(name: str) -> str:
    if not _ENV_NAME.match(name):
        raise ValueError(f"invalid variable name `{name}`: use letters, digits and _, not starting with a digit")
    return name


def _env_item(item: Any) -> str:
    if isinstance(item, dict):
        raise ValueError("expected `NAME=value` or `NAME`; YAML read a mapping here (is there a `: `?)")
    item = scalar_text(item)
    if not isinstance(item, str):
        raise ValueError(f"expected `NAME=value` or `NAME`, got {'nothing' if item is None else item!r}")
    _env_name(item.split("=", 1)[0])
    return item



def _command_line(value: Any) -> Any:
    if isinstance(value, dict) and len(value) == 1:
        key, val = next(iter(value.items()))
        raise ValueError(
            f"YAML read this line as a mapping because it contains `: `; quote the whole line: "
            f"- '{key}: {val}'"
        )
    return scalar_text(value)


def _python_version(value: Any) -> str:
    if isinstance(value, float):
        value = "3.10" if value == 3.1 else f"{value:g}"
    text = str(value).strip()
    if text not in PYTHON_VERSIONS:
        raise ValueError(f"python must be one of {', '.join(PYTHON_VERSIONS)}; got `{text}`")
    return text


CommandLine = Annotated[str, BeforeValidator(_command_line)]
EnvItem = Annotated[str, BeforeValidator(_env_item)]
EnvValue = Text
EnvName = Annotated[str, AfterValidator(_env_name)]
Env = by_shape(list=list[EnvItem], dict=dict[EnvName, EnvValue])
PythonVersion = Annotated[str, BeforeValidator(_python_version)]


class Resources_(SpecModel):
    """dstack `resources`: what each node needs. Omitted fields take dstack's defaults."""

    cpu: CpuField | None = Field(None, description="CPU cores: `4`, `2..8`, `arm:4`, `x86`; default 2...")
    memory: MemoryRange | None = Field(None, description="RAM in GB: `16GB`, `16GB..`, `8GB..64GB`; default 8GB...")
    gpu: GpuField | None = Field(
        None, description="GPUs: tokens in any order, e.g. `A100:80GB:2`, `24GB..:1..2`, `H100:8`, `A10,A10G:2`."
    )
    disk: DiskRange | None = Field(None, description="Disk size in GB: `100GB`, `200GB..`; default 100GB...")
    shm_size: Memory | None = Field(None, description="Size of /dev/shm, e.g. `16GB`.")

    def to_resources(self, spot: str | None) -> dict:
        """The fields of the run's `Resources` (a mapping: RunSpec builds it in its one validation)."""
        arch, cpu = self.cpu if self.cpu else (None, None)
        return {"cpu": cpu, "cpu_arch": arch, "memory_gb": self.memory, "gpu": self.gpu or {},
                "disk_gb": self.disk, "shm_size_gb": self.shm_size, "spot": spot}


class RegistryAuth(SpecModel):
    """Credentials of a private image registry."""

    username: str = Field(description="Registry user name.")
    password: str = Field(description="Registry password or token (kept secret).")


class RetryPolicy(SpecModel):
    """When and for how long to re-run a failed run."""

    on_events: list[Literal["no-capacity", "interruption", "error"]] | None = Field(
        None, description="Events that trigger a retry; omitted = all of them."
    )
    duration: Duration = Field(None, description="Stop retrying after this long, e.g. `1h`.")


class NamedVolume(SpecModel):
    """A network volume by name mounted at `path`."""

    name: by_shape(str=str, list=list[str]) = Field(description="Volume name (or names to choose from).")
    path: str = Field(description="Mount path inside the run.")


class InstanceVolume(SpecModel):
    """A directory of the host (instance) mounted at `path`."""

    instance_path: str = Field(description="Absolute path on the host.")
    path: str = Field(description="Mount path inside the run.")
    optional: bool = Field(False, description="Skip the mount when the host path is missing.")


def _volume_string(value: str) -> str:
    source, sep, path = value.partition(":")
    if not sep or not source or not path:
        raise ValueError(f"a volume is `name:/path` or `/host/path:/path`, got `{value}`")
    return value


VolumeLong = Annotated[
    Union[Annotated[NamedVolume, Tag("named")], Annotated[InstanceVolume, Tag("instance")]],
    Discriminator(lambda v: "instance" if isinstance(v, dict) and "instance_path" in v else "named"),
]
VolumeItem = by_shape(str=Annotated[str, AfterValidator(_volume_string)], dict=VolumeLong)


class RepoSpec(SpecModel):
    """A repository cloned into the run."""

    local_path: str | None = Field(None, description="Local directory to upload.")
    url: str | None = Field(None, description="Remote repository URL.")
    branch: str | None = Field(None, description="Branch to check out.")
    hash: str | None = Field(None, description="Commit to check out.")
    path: str = Field(".", description="Where the repository goes inside the run.")
    if_exists: Literal["error", "skip"] = Field("error", description="What to do if `path` exists.")

    @model_validator(mode="after")
    def _one_source(self) -> "RepoSpec":
        if self.local_path and self.url:
            raise FieldError("url", "`local_path` and `url` are mutually exclusive")
        return self


class FileMapping(SpecModel):
    """A local file or folder copied into the run."""

    local_path: str = Field(description="Path on this machine.")
    path: str = Field(description="Path inside the run.")


Strings = list[Text]


class _Profile(SpecModel):
    """Fields every dstack configuration takes (profile and placement)."""

    name: str | None = Field(None, description="Name of the run or fleet.")
    env: Env = Field(default_factory=list, description="Environment: `NAME=value` or `NAME` (taken from your shell), or a mapping.")
    backends: Strings | None = Field(None, description="Backends to consider, e.g. [aws, runpod].")
    regions: Strings | None = Field(None, description="Regions to consider.")
    availability_zones: Strings | None = Field(None, description="Availability zones to consider.")
    instance_types: Strings | None = Field(None, description="Instance types to consider.")
    reservation: str | None = Field(None, description="Capacity reservation to use.")
    spot_policy: Literal["spot", "on-demand", "auto"] | None = Field(None, description="spot, on-demand or auto.")
    retry: by_shape(bool=bool, dict=RetryPolicy) | None = Field(None, description="true, or {on_events, duration}.")
    max_price: float | None = Field(None, ge=0, description="Maximum price per hour, dollars.")
    idle_duration: Duration = Field(None, description="Release idle instances after this long; `off` = never.")
    tags: dict[str, Text] | None = Field(None, description="Resource tags.")
    backend_options: BackendOptions | None = Field(
        None, description="Backend-specific options, e.g. [{type: vastai, offer_order: price}].")

    def env_vars(self) -> list[dict]:
        """The fields of each `EnvVar` (mappings: RunSpec builds them in one validation)."""
        if isinstance(self.env, dict):
            return [{"name": k, "value": v} for k, v in self.env.items()]
        out = []
        for item in self.env:
            name, sep, value = item.partition("=")
            if sep:
                out.append({"name": name, "value": value})
            else:
                out.append({"name": name, "value": os.environ.get(name), "from_client_env": True,
                            "secret": bool(_SECRET_NAME.search(name.upper()))})
        return out

    def retry_policy(self) -> Retry | None:
        if self.retry is True:
            return Retry()
        if isinstance(self.retry, RetryPolicy):
            retry = Retry(duration=self.retry.duration)
            if self.retry.on_events is not None:
                retry.on_events = list(self.retry.on_events)
            return retry
        return None


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


class _Run(_Profile):
    """Fields of runnable configurations (task, service, dev-environment)."""

    image: str | None = Field(None, description="Docker image; default: dstack's base image with Python and CUDA.")
    python: PythonVersion | None = Field(None, description="Python version of the default image, e.g. `3.11`.")
    nvcc: bool | None = Field(None, description="Use the default image with the CUDA compiler.")
    docker: bool | None = Field(None, description="Docker-in-Docker; implies `privileged`.")
    privileged: bool = Field(False, description="Run the container privileged.")
    user: str | None = Field(None, description="user[:group] to run as.")
    entrypoint: str | None = Field(None, description="Image entrypoint override.")
    working_dir: str | None = Field(None, description="Working directory inside the run.")
    home_dir: str | None = Field(None, description="Deprecated; has no effect.")
    registry_auth: RegistryAuth | None = Field(None, description="Credentials for a private image.")
    single_branch: bool | None = Field(None, description="Clone only the current branch.")
    shell: str | None = Field(None, description="sh, bash or an absolute path.")
    resources: Resources_ = Field(default_factory=Resources_, description="Resources each node needs.")
    priority: int | None = Field(None, ge=0, le=100, description="Scheduling priority, 0..100.")
    volumes: list[VolumeItem] = Field(default_factory=list, description="`name:/path`, `/host:/path` or long forms.")
    repos: list[by_shape(str=str, dict=RepoSpec)] = Field(default_factory=list, max_length=1, description="Repository to clone (at most one).")
    files: list[by_shape(str=str, dict=FileMapping)] = Field(default_factory=list, description="Files to copy in: `local[:path]`.")
    dstack: bool = Field(False, description="Expose the dstack server inside the run.")
    setup: list[CommandLine] = Field(default_factory=list, description="Deprecated; use `commands` or `init`.")
    max_duration: Duration = Field(None, description="Stop the run after this long, e.g. `2h`; `off` = never.")
    stop_duration: Duration = Field(None, description="Grace period between stop signal and kill.")
    creation_policy: Literal["reuse", "reuse-or-create"] | None = Field(None, description="reuse or reuse-or-create.")
    utilization_policy: UtilizationPolicy | None = Field(None, description="Stop on low GPU utilization.")
    startup_order: Literal["any", "master-first", "workers-first"] | None = Field(None, description="Order nodes start in.")
    stop_criteria: Literal["all-done", "master-done"] | None = Field(None, description="When a multi-node run is done.")
    schedule: Schedule | None = Field(None, description="Cron schedule.")
    fleets: list[FleetReference] | None = Field(None, description="Fleets to reuse: `name` or `project/name`.")
    instances: list[InstanceSelector] | None = Field(
        None, min_length=1, description="Fleet instances to run on: a name, {name}, {hostname} or {fleet, instance}.")

    @model_validator(mode="after")
    def _image_rules(self) -> "_Run":
        raise_all(image_conflicts(self))
        return self

    def _common(self, kind: str, commands: list[str]) -> dict:
        return dict(
            kind=kind, name=self.name, image=self.image, python=self.python, entrypoint=self.entrypoint,
            working_dir=self.working_dir, user=self.user, privileged=bool(self.privileged or self.docker),
            shell=self.shell, commands=[{"command": c} for c in commands], env=self.env_vars(),
            resources=self.resources.to_resources(self.spot_policy), volumes=self._volumes(),
            max_duration=self.max_duration, stop_duration=self.stop_duration, idle_duration=self.idle_duration,
            retry=self.retry_policy(),
            registry_username=self.registry_auth.username if self.registry_auth else None,
            registry_password=self.registry_auth.password if self.registry_auth else None,
        )

    def _volumes(self) -> list[dict]:
        """The fields of each `Volume`."""
        out = []
        for v in self.volumes:
            if isinstance(v, str):
                source, _, path = v.partition(":")
                kind = "bind" if "/" in source or source.startswith("~") else "named"
                out.append({"kind": kind, "source": source, "path": path})
            elif isinstance(v, InstanceVolume):
                out.append({"kind": "bind", "source": v.instance_path, "path": v.path, "optional": v.optional})
            else:
                name = v.name if isinstance(v.name, str) else ",".join(v.name)
                out.append({"kind": "named", "source": name, "path": v.path})
        return out


def _ports(ports: list[tuple]) -> list[dict]:
    """The fields of each `Port`."""
    return [{"local_port": local, "container_port": container} for local, container in ports]


_GROUP_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")


def _group_name(name: str) -> str:
    if not _GROUP_NAME.match(name):
        raise ValueError(f"invalid group name `{name}`: use up to 40 lowercase letters, digits and `-`, "
                         "starting with a letter or digit")
    return name


GroupName = Annotated[str, BeforeValidator(scalar_text), AfterValidator(_group_name)]


def _some_groups(groups: list) -> list:
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


class NodeGroup(SpecModel):
    """A group of nodes of a heterogeneous multi-node task; it does not inherit top-level `resources`."""

    name: GroupName | None = Field(None, description="Group name; default: its index (`0`, `1`, ...).")
    nodes: int = Field(1, ge=1, description="Nodes in the group.")
    resources: Resources_ = Field(default_factory=Resources_, description="Resources of each node of the group.")
    commands: list[CommandLine] = Field(default_factory=list, description="Commands the group's nodes run.")
    ports: list[PortMapping] = Field(default_factory=list, description="Ports of the group's nodes.")


def _needs_commands(commands: list, image: str | None, message: str) -> list[FieldError]:
    return [] if commands or image is not None else [FieldError("commands", f"nothing to run: {message}")]


class Task(_Run):
    """A batch job: runs `commands` on one or more nodes, then stops."""

    type: Literal["task"] = Field(description="Configuration type.")
    commands: list[CommandLine] = Field(default_factory=list, description="Shell commands, run in order.")
    ports: list[PortMapping] = Field(default_factory=list, description="Ports to forward: `8000`, `8080:80`, `*:9000`.")
    nodes: int | None = Field(None, ge=1, description="Number of nodes (multi-node task).")
    groups: Annotated[list[NodeGroup], AfterValidator(_some_groups)] | None = Field(
        None, description="Node groups of a heterogeneous multi-node task (instead of `nodes`).")

    @model_validator(mode="after")
    def _groups(self) -> "Task":
        if self.groups is None:
            raise_all(_needs_commands(self.commands, self.image, "give the task `commands` or an `image`"))
            return self
        errors = [FieldError(other, f"`{other}` cannot be used with `groups`; put it in each group")
                  for other in ("nodes", "commands", "ports", "entrypoint")
                  if getattr(self, other) not in (None, [])]
        errors += _duplicate_names(self.groups, "groups")
        errors += [FieldError(f"groups.{i}.{e.field}", str(e)) for i, g in enumerate(self.groups)
                   for e in _needs_commands(g.commands, self.image, "give the group `commands`, or the task an `image`")]
        raise_all(errors)
        return self

    def to_runspec(self) -> RunSpec:
        commands = self.commands or [c for g in self.groups or [] for c in g.commands]
        return RunSpec(**self._common("dstack-task", commands), ports=_ports(self.ports), nodes=self.nodes or 1)


class ModelSpec(SpecModel):
    """The model a service serves (OpenAI-compatible endpoint)."""

    type: Literal["chat"] = Field("chat", description="Model type.")
    name: str = Field(description="Model name.")
    format: Literal["openai", "tgi"] = Field("openai", description="API format.")
    prefix: str = Field("/v1", description="URL prefix of the OpenAI API.")
    chat_template: str | None = Field(None, description="Chat template (tgi format).")
    eos_token: str | None = Field(None, description="End-of-sequence token (tgi format).")


def _scaling_window(seconds: float) -> float:
    if seconds not in (30, 60, 300):
        raise ValueError(f"the window is 30s, 60s or 300s; got {seconds:g}s")
    return seconds


class Scaling(SpecModel):
    """Autoscaling of service replicas."""

    metric: Literal["rps"] = Field(description="Metric to follow: rps (requests per second).")
    target: float = Field(gt=0, description="Target value of the metric per replica.")
    window: Annotated[float, BeforeValidator(grammar.parse_duration), AfterValidator(_scaling_window)] | None = Field(
        None, description="Window the rate is averaged over: 30s, 60s (default) or 300s.")
    scale_up_delay: Annotated[float, BeforeValidator(grammar.parse_duration)] = Field(300, description="Delay before scaling up.")
    scale_down_delay: Annotated[float, BeforeValidator(grammar.parse_duration)] = Field(600, description="Delay before scaling down.")


class HttpHeader(SpecModel):
    """A header sent with a probe request."""

    name: str = Field(min_length=1, max_length=256, description="Header name.")
    value: Text = Field(min_length=1, max_length=2048, description="Header value.")


def _probe_url(url: str) -> str:
    if not url.startswith("/"):
        raise ValueError(f"a probe URL is a path starting with `/`, got `{url}`")
    if len(url) > 2048:
        raise ValueError("a probe URL is at most 2048 characters")
    if not url.isprintable():
        raise ValueError("a probe URL cannot hold control characters")
    return url


def _at_least_one_second(seconds: float) -> float:
    if seconds < 1:
        raise ValueError(f"must be at least 1s, got {seconds:g}s")
    return seconds


ProbeDuration = Annotated[float, BeforeValidator(lambda v: grammar.parse_duration(v, allow_off=False)),
                          AfterValidator(_at_least_one_second)]


class Probe(SpecModel):
    """A readiness probe of a service replica: an HTTP request that must succeed."""

    type: Literal["http"] = Field(description="Probe type: http.")
    url: Annotated[str, AfterValidator(_probe_url)] | None = Field(None, description="Path to request (default `/`).")
    method: Literal["get", "post", "put", "delete", "patch", "head"] | None = Field(
        None, description="HTTP method (default get).")
    headers: list[HttpHeader] = Field(default_factory=list, max_length=16, description="Request headers {name, value}.")
    body: str | None = Field(None, min_length=1, max_length=2048, description="Request body (not with get or head).")
    timeout: ProbeDuration | None = Field(None, description="Request timeout (default 10s).")
    interval: ProbeDuration | None = Field(None, description="Time between probes (default 15s).")
    ready_after: int | None = Field(None, ge=1, description="Successes in a row before the replica is ready (default 1).")
    until_ready: bool | None = Field(None, description="Stop probing once ready (default false).")

    @model_validator(mode="after")
    def _body(self) -> "Probe":
        if self.body is not None and (self.method or "get") in ("get", "head"):
            raise FieldError("body", f"a `{self.method or 'get'}` request cannot have a body; "
                                     "set `method: post` (or put, patch)")
        return self


def _unique_probes(probes: list[Probe]) -> list[Probe]:
    seen: list[Probe] = []
    errors = []
    for index, probe in enumerate(probes):
        if probe in seen:
            errors.append(FieldError(str(index), "the same probe is given twice"))
        seen.append(probe)
    raise_all(errors)
    return probes


def _rate_prefix(prefix: str) -> str:
    if not re.match(r"^/[^\s\\{}]*$", prefix):
        raise ValueError(f"a prefix is a URL path starting with `/`, without spaces, `\\`, `{{` or `}}`; got `{prefix}`")
    if len(prefix) > 4094:
        raise ValueError("a prefix is at most 4094 characters")
    return prefix


def _header_name(name: str) -> str:
    if not re.match(r"^[a-zA-Z0-9_-]+$", name) or len(name) > 500:
        raise ValueError(f"a header name is letters, digits, `-` and `_`; got `{name}`")
    return name


def _rps(rps: float) -> float:
    if not 1 / 60 <= rps <= (2**63 - 1) // 60:
        raise ValueError(f"rps must be at least 1/60 (one request a minute), got {rps:g}")
    return rps


class IpAddressKey(SpecModel):
    """Rate-limit each client IP address separately."""

    type: Literal["ip_address"] = Field(description="Partition by client IP address.")


class HeaderKey(SpecModel):
    """Rate-limit each value of a request header separately."""

    type: Literal["header"] = Field(description="Partition by a request header.")
    header: Annotated[str, AfterValidator(_header_name)] = Field(description="Header name, e.g. `X-API-Key`.")


def _key_type(value: Any) -> str | None:
    """The key a mapping means (tags differ from field names so that error paths stay exact)."""
    kind = value.get("type") if isinstance(value, dict) else None
    return {"ip_address": "by-ip", "header": "by-header"}.get(kind) if isinstance(kind, str) else None


RateLimitKey = Annotated[
    Union[Annotated[IpAddressKey, Tag("by-ip")], Annotated[HeaderKey, Tag("by-header")]],
    Discriminator(_key_type, custom_error_type="rate_limit_key",
                  custom_error_message="`type` must be `ip_address` or `header`"),
]


class RateLimit(SpecModel):
    """Requests per second allowed under a URL prefix, per client IP address or header value."""

    prefix: Annotated[str, AfterValidator(_rate_prefix)] = Field("/", description="URL path prefix (the longest match applies).")
    key: RateLimitKey = Field(default_factory=lambda: IpAddressKey(type="ip_address"),
                              description="Partition: {type: ip_address} (default) or {type: header, header: NAME}.")
    rps: Annotated[float, AfterValidator(_rps)] = Field(description="Requests per second allowed (at least 1/60).")
    burst: int = Field(0, ge=0, le=2**63 - 1, description="Requests let through ahead of the limit.")


def _unique_prefixes(limits: list[RateLimit]) -> list[RateLimit]:
    seen: set[str] = set()
    errors = []
    for index, limit in enumerate(limits):
        if limit.prefix in seen:
            errors.append(FieldError(f"{index}.prefix", f"prefix `{limit.prefix}` already has a rate limit above"))
        seen.add(limit.prefix)
    raise_all(errors)
    return limits


def _replica_count(value: Any) -> Range:
    count = grammar.parse_count_range(value)
    if count.max is None:
        raise ValueError(f"give the most replicas too, e.g. `{int(count.min or 0)}..4`")
    if count.min is None:
        count.min = 0
    return count


ReplicaCount = Annotated[Range, BeforeValidator(_replica_count)]


class RouterConfig(SpecModel):
    """The in-service HTTP router that replicas of a group run."""

    type: Literal["smg", "dynamo", "sglang"] = Field("smg", description="smg (Shepherd Model Gateway; formerly sglang) or dynamo.")


def _scaling_rules(replicas: Range | None, scaling: Any, field: str) -> list[FieldError]:
    """A range of replicas needs `scaling`; `scaling` needs a range (as dstack rules both)."""
    if replicas is None:
        return []
    if replicas.min != replicas.max and scaling is None:
        return [FieldError(field, "a range of replicas needs `scaling`, e.g. scaling: {metric: rps, target: 10}")]
    if replicas.min == replicas.max and scaling is not None:
        return [FieldError("scaling", f"`scaling` needs a range of replicas, e.g. `{field}: 1..4`")]
    return []


class ReplicaGroup(SpecModel):
    """A group of replicas of a heterogeneous service, with its own resources, image and commands."""

    name: GroupName | None = Field(None, description="Group name; default: its index (`0`, `1`, ...).")
    replicas: ReplicaCount | None = Field(None, description="Replicas: `2`, or a range `1..4` (needs `scaling`). Required.")
    count: ReplicaCount | None = Field(None, description="Former name of `replicas`.")
    scaling: Scaling | None = Field(None, description="Autoscaling rule of the group.")
    resources: Resources_ = Field(default_factory=Resources_, description="Resources of each replica of the group.")
    spot_policy: Literal["spot", "on-demand", "auto"] | None = Field(None, description="spot, on-demand or auto.")
    reservation: str | None = Field(None, description="Capacity reservation for the group.")
    commands: list[CommandLine] = Field(default_factory=list, description="Commands the group's replicas run.")
    image: str | None = Field(None, description="Docker image of the group.")
    python: PythonVersion | None = Field(None, description="Python version of the default image.")
    nvcc: bool | None = Field(None, description="Use the default image with the CUDA compiler.")
    docker: bool | None = Field(None, description="Docker-in-Docker; runs privileged.")
    privileged: bool | None = Field(None, description="Run the group's replicas privileged.")
    router: RouterConfig | None = Field(None, description="Run the in-service router in this group: {type: smg}.")

    @property
    def count_field(self) -> str:
        return "count" if self.replicas is None and self.count is not None else "replicas"

    @property
    def replica_count(self) -> Range | None:
        return self.replicas if self.replicas is not None else self.count

    @model_validator(mode="after")
    def _rules(self) -> "ReplicaGroup":
        errors = image_conflicts(self, " within a replica group")
        if self.replica_count is None:
            errors.append(FieldError("replicas", "missing required field `replicas`"))
        if self.privileged is False and self.docker:
            errors.append(FieldError("privileged", "`privileged: false` cannot go with `docker: true` "
                                                   "(Docker-in-Docker runs privileged)"))
        raise_all(errors + _scaling_rules(self.replica_count, self.scaling, self.count_field))
        return self


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


def _group_errors(service: "Service", group: ReplicaGroup) -> list[FieldError]:
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


class Service(_Run):
    """A long-running server behind an endpoint, with replicas and autoscaling."""

    type: Literal["service"] = Field(description="Configuration type.")
    port: Annotated[tuple, BeforeValidator(lambda v: grammar.parse_port_mapping(v) if isinstance(v, str) and ":" in v else (80, grammar.parse_port_number(v)))] = Field(
        description="Port the service listens on: `8000`, or `local:container`."
    )
    commands: list[CommandLine] = Field(default_factory=list, description="Shell commands that start the server.")
    gateway: by_shape(bool=bool, str=str) | None = Field(None, description="Gateway name, or false for none.")
    strip_prefix: bool = Field(True, description="Strip the /proxy prefix from requests.")
    model: by_shape(str=str, dict=ModelSpec) | None = Field(None, description="Model name or mapping, for the OpenAI endpoint.")
    https: by_shape(bool=bool, str=Literal["auto"]) | None = Field(None, description="true, false or auto.")
    auth: bool = Field(True, description="Require a token.")
    replicas: by_shape(
        number=ReplicaCount, str=ReplicaCount, dict=ReplicaCount,
        list=Annotated[list[ReplicaGroup], AfterValidator(_some_groups)],
    ) | None = Field(None, description="Replicas: `2`, or a range `1..4` (needs `scaling`); a list is read as `groups`.")
    scaling: Scaling | None = Field(None, description="Autoscaling rule.")
    rate_limits: Annotated[list[RateLimit], AfterValidator(_unique_prefixes)] = Field(
        default_factory=list, description="Rate limits: {prefix, key, rps, burst}, one per prefix.")
    probes: Annotated[list[Probe], AfterValidator(_unique_probes)] | None = Field(
        None, description="Readiness probes: {type: http, url, method, headers, body, timeout, interval, ...}.")
    groups: Annotated[list[ReplicaGroup], AfterValidator(_some_groups)] | None = Field(
        None, description="Replica groups of a heterogeneous service (instead of `replicas`).")

    @model_validator(mode="after")
    def _replica_rules(self) -> "Service":
        groups, where = (self.groups, "groups") if self.groups is not None else (
            (self.replicas, "replicas") if isinstance(self.replicas, list) else (None, ""))
        if groups is None:
            raise_all(_scaling_rules(self.replicas, self.scaling, "replicas")
                      + _needs_commands(self.commands, self.image, "give the service `commands` or an `image`"))
            return self
        errors = [FieldError(other, f"top-level `{other}` cannot be used with replica groups; put it in each group")
                  for other in ("scaling", "commands") if getattr(self, other)]
        if self.groups is not None and self.replicas is not None:
            errors.append(FieldError("replicas", "`replicas` and `groups` are mutually exclusive; "
                                                 "give each group its `replicas`"))
        errors += _duplicate_names(groups, where)
        for index, group in enumerate(groups):
            errors += [FieldError(f"{where}.{index}.{e.field}", str(e)) for e in _group_errors(self, group)]
        routers = [(i, g) for i, g in enumerate(groups) if g.router is not None]
        errors += [FieldError(f"{where}.{i}.router", "only one replica group may have a `router`") for i, _ in routers[1:]]
        if routers and routers[0][1].replica_count != Range.exactly(1):
            i, g = routers[0]
            errors.append(FieldError(f"{where}.{i}.{g.count_field}", "a group with a `router` must have `replicas: 1`"))
        raise_all(errors)
        return self

    def to_runspec(self) -> RunSpec:
        local, container = self.port
        r = self.replicas if isinstance(self.replicas, Range) else Range.exactly(1)
        lo = int(r.min or 0)
        hi = int(r.max) if r.max is not None else max(lo, 1)
        scaling = Autoscaling(min=lo, max=max(hi, 1), metric=self.scaling.metric if self.scaling else None,
                              target=self.scaling.target if self.scaling else None)
        if self.scaling:
            scaling.scale_up_delay, scaling.scale_down_delay = self.scaling.scale_up_delay, self.scaling.scale_down_delay
        probe = (self.probes or [None])[0]
        service = ServiceSpec(port=container, autoscaling=scaling, health_path=(probe.url or "/") if probe else None,
                              health_type="http" if probe else "tcp")
        ports = [Port(container_port=container, local_port=local, protocol="http")]
        return RunSpec(**self._common("dstack-service", self.commands), ports=ports, service=service)


class DevEnvironment(_Run):
    """An interactive machine to work in (SSH, an IDE); `init` runs once at start."""

    type: Literal["dev-environment"] = Field(description="Configuration type.")
    ide: Literal["vscode", "cursor", "windsurf", "zed"] | None = Field(None, description="IDE: vscode, cursor, windsurf or zed.")
    version: str | None = Field(None, description="IDE version (needs `ide`).")
    init: list[CommandLine] = Field(default_factory=list, description="Commands run once when the environment starts.")
    inactivity_duration: Duration = Field(None, description="Stop after this long without SSH activity.")
    ports: list[PortMapping] = Field(default_factory=list, description="Ports to forward.")

    @model_validator(mode="after")
    def _version(self) -> "DevEnvironment":
        if self.version is not None and self.ide is None:
            raise FieldError("version", "`version` needs `ide`")
        return self

    def to_runspec(self) -> RunSpec:
        spec = RunSpec(**self._common("dstack-dev-environment", self.setup + self.init), ports=_ports(self.ports),
                       interactive=Interactive(ide=self.ide))
        if self.inactivity_duration is not None:
            spec.idle_duration = self.inactivity_duration
        return spec


class SSHHost(SpecModel):
    """A host of an SSH fleet."""

    hostname: str = Field(description="Host name or IP address.")
    port: int | None = Field(None, ge=1, le=65535, description="SSH port.")
    user: str | None = Field(None, description="SSH user.")
    identity_file: str | None = Field(None, description="Private key file.")
    ssh_key: dict | None = Field(None, description="Private key.")
    proxy_jump: dict | None = Field(None, description="Jump host.")
    internal_ip: str | None = Field(None, description="IP address inside the cluster network.")
    blocks: by_shape(number=int, str=Literal["auto"]) | None = Field(None, description="Blocks of the host.")


class SSHConfig(SpecModel):
    """On-premises fleet: hosts reached over SSH."""

    user: str | None = Field(None, description="SSH user.")
    port: int | None = Field(None, ge=1, le=65535, description="SSH port.")
    identity_file: str | None = Field(None, description="Private key file.")
    ssh_key: dict | None = Field(None, description="Private key.")
    proxy_jump: dict | None = Field(None, description="Jump host.")
    hosts: list[by_shape(str=str, dict=SSHHost)] = Field(description="Hosts of the fleet.")
    network: str | None = Field(None, description="Cluster network, `ip/mask`.")


class FleetNodes(SpecModel):
    """Fleet size bounds."""

    min: int = Field(0, ge=0, description="Fewest nodes.")
    target: int | None = Field(None, ge=0, description="Nodes to provision initially.")
    max: int | None = Field(None, ge=0, description="Most nodes.")


class Fleet(_Profile):
    """A pool of instances (cloud or SSH hosts) that runs are placed on."""

    type: Literal["fleet"] = Field(description="Configuration type.")
    nodes: by_shape(number=CountRange, str=CountRange, dict=FleetNodes) | None = Field(None, description="Nodes: `2`, `0..2` or {min, target, max}.")
    placement: Literal["any", "cluster"] | None = Field(None, description="any, or cluster (interconnected).")
    blocks: by_shape(number=int, str=Literal["auto"]) = Field(1, description="Split each instance into blocks.")
    resources: Resources_ | None = Field(None, description="Resources of each instance.")
    ssh_config: SSHConfig | None = Field(None, description="SSH hosts of an on-premises fleet.")

    def to_runspec(self) -> RunSpec:
        nodes = 1
        if isinstance(self.nodes, Range):
            nodes = max(1, int(self.nodes.min or 0))
        elif isinstance(self.nodes, FleetNodes):
            nodes = max(1, self.nodes.min)
        return RunSpec(
            kind="dstack-fleet", name=self.name, env=self.env_vars(), nodes=nodes,
            resources=(self.resources or Resources_()).to_resources(self.spot_policy),
            idle_duration=self.idle_duration, retry=self.retry_policy(),
        )


MODELS: dict[str, type[SpecModel]] = {
    "task": Task, "service": Service, "dev-environment": DevEnvironment, "fleet": Fleet,
}

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
