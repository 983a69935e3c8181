"""dstack configurations (`type: task | service | dev-environment | fleet`) as strict models.

Field names, shapes and rules follow dstack 0.22's parser; `core.spec.mapping` maps a validated
configuration into the normalized `RunSpec`.
"""

from typing import Annotated, Literal, Union

from pydantic import AfterValidator, BeforeValidator, Discriminator, Field, Tag

from core.spec import dstack_rules as rules
from core.spec import grammar
from core.spec.base import (
    CountRange, CpuField, DiskRange, Duration, GpuField, Memory, MemoryRange,
    PortMapping, SpecModel, Text, by_shape,
)
from core.spec.checks import scalar_text
from core.spec.dstack_profile import (
    BackendOptions, FleetReference, InstanceSelector, Schedule, UtilizationPolicy,
)
from core.spec.quantities import Range


CommandLine = Annotated[str, BeforeValidator(rules.command_line)]
EnvItem = Annotated[str, BeforeValidator(rules.env_item)]
EnvValue = Text
EnvName = Annotated[str, AfterValidator(rules.env_name)]
Env = by_shape(list=list[EnvItem], dict=dict[EnvName, EnvValue])
PythonVersion = Annotated[str, BeforeValidator(rules.python_version)]


class Resources_(SpecModel):
    """dstack `resources`: what each node needs. Omitted fields take dstack's defaults."""

    cpu: CpuField | None = Field(None, description="CPU cores: `4`, `2..8`, `arm:4`, `x86`; default 2...")
    memory: MemoryRange | None = Field(None, description="RAM in GB: `16GB`, `16GB..`, `8GB..64GB`; default 8GB...")
    gpu: GpuField | None = Field(
        None, description="GPUs: tokens in any order, e.g. `A100:80GB:2`, `24GB..:1..2`, `H100:8`, `A10,A10G:2`."
    )
    disk: DiskRange | None = Field(None, description="Disk size in GB: `100GB`, `200GB..`; default 100GB...")
    shm_size: Memory | None = Field(None, description="Size of /dev/shm, e.g. `16GB`.")


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


VolumeLong = Annotated[
    Union[Annotated[NamedVolume, Tag("named")], Annotated[InstanceVolume, Tag("instance")]],
    Discriminator(rules.volume_kind),
]
VolumeItem = by_shape(str=Annotated[str, AfterValidator(rules.volume_string)], dict=VolumeLong)


class RepoSpec(SpecModel):
    """A repository cloned into the run."""

    local_path: str | None = Field(None, description="Local directory to upload.")
    url: str | None = Field(None, description="Remote repository URL.")
    branch: str | None = Field(None, description="Branch to check out.")
    hash: str | None = Field(None, description="Commit to check out.")
    path: str = Field(".", description="Where the repository goes inside the run.")
    if_exists: Literal["error", "skip"] = Field("error", description="What to do if `path` exists.")

    RULES = (rules.one_repo_source,)


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

    RULES = (rules.image_rules,)


GroupName = Annotated[str, BeforeValidator(scalar_text), AfterValidator(rules.group_name)]


class NodeGroup(SpecModel):
    """A group of nodes of a heterogeneous multi-node task; it does not inherit top-level `resources`."""

    name: GroupName | None = Field(None, description="Group name; default: its index (`0`, `1`, ...).")
    nodes: int = Field(1, ge=1, description="Nodes in the group.")
    resources: Resources_ = Field(default_factory=Resources_, description="Resources of each node of the group.")
    commands: list[CommandLine] = Field(default_factory=list, description="Commands the group's nodes run.")
    ports: list[PortMapping] = Field(default_factory=list, description="Ports of the group's nodes.")


class Task(_Run):
    """A batch job: runs `commands` on one or more nodes, then stops."""

    type: Literal["task"] = Field(description="Configuration type.")
    commands: list[CommandLine] = Field(default_factory=list, description="Shell commands, run in order.")
    ports: list[PortMapping] = Field(default_factory=list, description="Ports to forward: `8000`, `8080:80`, `*:9000`.")
    nodes: int | None = Field(None, ge=1, description="Number of nodes (multi-node task).")
    groups: Annotated[list[NodeGroup], AfterValidator(rules.some_groups)] | None = Field(
        None, description="Node groups of a heterogeneous multi-node task (instead of `nodes`).")

    RULES = (*_Run.RULES, rules.task_groups)


class ModelSpec(SpecModel):
    """The model a service serves (OpenAI-compatible endpoint)."""

    type: Literal["chat"] = Field("chat", description="Model type.")
    name: str = Field(description="Model name.")
    format: Literal["openai", "tgi"] = Field("openai", description="API format.")
    prefix: str = Field("/v1", description="URL prefix of the OpenAI API.")
    chat_template: str | None = Field(None, description="Chat template (tgi format).")
    eos_token: str | None = Field(None, description="End-of-sequence token (tgi format).")


class Scaling(SpecModel):
    """Autoscaling of service replicas."""

    metric: Literal["rps"] = Field(description="Metric to follow: rps (requests per second).")
    target: float = Field(gt=0, description="Target value of the metric per replica.")
    window: Annotated[float, BeforeValidator(grammar.parse_duration), AfterValidator(rules.scaling_window)] | None = Field(
        None, description="Window the rate is averaged over: 30s, 60s (default) or 300s.")
    scale_up_delay: Annotated[float, BeforeValidator(grammar.parse_duration)] = Field(300, description="Delay before scaling up.")
    scale_down_delay: Annotated[float, BeforeValidator(grammar.parse_duration)] = Field(600, description="Delay before scaling down.")


class HttpHeader(SpecModel):
    """A header sent with a probe request."""

    name: str = Field(min_length=1, max_length=256, description="Header name.")
    value: Text = Field(min_length=1, max_length=2048, description="Header value.")


ProbeDuration = Annotated[float, BeforeValidator(grammar.parse_strict_duration),
                          AfterValidator(rules.at_least_one_second)]


class Probe(SpecModel):
    """A readiness probe of a service replica: an HTTP request that must succeed."""

    type: Literal["http"] = Field(description="Probe type: http.")
    url: Annotated[str, AfterValidator(rules.probe_url)] | None = Field(None, description="Path to request (default `/`).")
    method: Literal["get", "post", "put", "delete", "patch", "head"] | None = Field(
        None, description="HTTP method (default get).")
    headers: list[HttpHeader] = Field(default_factory=list, max_length=16, description="Request headers {name, value}.")
    body: str | None = Field(None, min_length=1, max_length=2048, description="Request body (not with get or head).")
    timeout: ProbeDuration | None = Field(None, description="Request timeout (default 10s).")
    interval: ProbeDuration | None = Field(None, description="Time between probes (default 15s).")
    ready_after: int | None = Field(None, ge=1, description="Successes in a row before the replica is ready (default 1).")
    until_ready: bool | None = Field(None, description="Stop probing once ready (default false).")

    RULES = (rules.probe_body,)


class IpAddressKey(SpecModel):
    """Rate-limit each client IP address separately."""

    type: Literal["ip_address"] = Field(description="Partition by client IP address.")


class HeaderKey(SpecModel):
    """Rate-limit each value of a request header separately."""

    type: Literal["header"] = Field(description="Partition by a request header.")
    header: Annotated[str, AfterValidator(rules.header_name)] = Field(description="Header name, e.g. `X-API-Key`.")


RateLimitKey = Annotated[
    Union[Annotated[IpAddressKey, Tag("by-ip")], Annotated[HeaderKey, Tag("by-header")]],
    Discriminator(rules.key_type, custom_error_type="rate_limit_key",
                  custom_error_message="`type` must be `ip_address` or `header`"),
]


class RateLimit(SpecModel):
    """Requests per second allowed under a URL prefix, per client IP address or header value."""

    prefix: Annotated[str, AfterValidator(rules.rate_prefix)] = Field("/", description="URL path prefix (the longest match applies).")
    key: RateLimitKey = Field(default_factory=lambda: IpAddressKey(type="ip_address"),
                              description="Partition: {type: ip_address} (default) or {type: header, header: NAME}.")
    rps: Annotated[float, AfterValidator(rules.rps)] = Field(description="Requests per second allowed (at least 1/60).")
    burst: int = Field(0, ge=0, le=2**63 - 1, description="Requests let through ahead of the limit.")


ReplicaCount = Annotated[Range, BeforeValidator(rules.replica_count_bounds)]


class RouterConfig(SpecModel):
    """The in-service HTTP router that replicas of a group run."""

    type: Literal["smg", "dynamo", "sglang"] = Field("smg", description="smg (Shepherd Model Gateway; formerly sglang) or dynamo.")


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

    RULES = (rules.replica_group_rules,)


class Service(_Run):
    """A long-running server behind an endpoint, with replicas and autoscaling."""

    type: Literal["service"] = Field(description="Configuration type.")
    port: Annotated[tuple, BeforeValidator(rules.service_port)] = Field(
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
        list=Annotated[list[ReplicaGroup], AfterValidator(rules.some_groups)],
    ) | None = Field(None, description="Replicas: `2`, or a range `1..4` (needs `scaling`); a list is read as `groups`.")
    scaling: Scaling | None = Field(None, description="Autoscaling rule.")
    rate_limits: Annotated[list[RateLimit], AfterValidator(rules.unique_prefixes)] = Field(
        default_factory=list, description="Rate limits: {prefix, key, rps, burst}, one per prefix.")
    probes: Annotated[list[Probe], AfterValidator(rules.unique_probes)] | None = Field(
        None, description="Readiness probes: {type: http, url, method, headers, body, timeout, interval, ...}.")
    groups: Annotated[list[ReplicaGroup], AfterValidator(rules.some_groups)] | None = Field(
        None, description="Replica groups of a heterogeneous service (instead of `replicas`).")

    RULES = (*_Run.RULES, rules.service_replicas)


class DevEnvironment(_Run):
    """An interactive machine to work in (SSH, an IDE); `init` runs once at start."""

    type: Literal["dev-environment"] = Field(description="Configuration type.")
    ide: Literal["vscode", "cursor", "windsurf", "zed"] | None = Field(None, description="IDE: vscode, cursor, windsurf or zed.")
    version: str | None = Field(None, description="IDE version (needs `ide`).")
    init: list[CommandLine] = Field(default_factory=list, description="Commands run once when the environment starts.")
    inactivity_duration: Duration = Field(None, description="Stop after this long without SSH activity.")
    ports: list[PortMapping] = Field(default_factory=list, description="Ports to forward.")

    RULES = (*_Run.RULES, rules.ide_version)


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

MODELS: dict[str, type[SpecModel]] = {
    "task": Task, "service": Service, "dev-environment": DevEnvironment, "fleet": Fleet,
}
