"""VESSL run YAML and VESSL Serve revision YAML as strict models (`core.spec.mapping` maps a
validated one into the normalized `RunSpec`).

Shapes follow VESSL's run-spec form (`V1RunSpecFormBodyInput`) plus the shorthands users write:
`run` as a string or bare strings in the list, `image` as a string, sources as URIs
(`git://`, `hf://`, `s3://`, `volume://`, …), env values as scalars, ports as integers.
"""

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field

from core.spec import grammar
from core.spec import vessl_rules as rules
from core.spec.base import PortNumber, SpecModel, StrictDuration, Text, by_shape


class GpuRequest(SpecModel):
    """An NVIDIA GPU request: model and count."""

    device_type: Text | None = Field(None, description="GPU model, e.g. `A100-SXM4-80GB`, `L4`.")
    quantity: Annotated[float, BeforeValidator(grammar.parse_gpu_quantity)] = Field(description="Number of GPUs.")
    mig_resource_type: str | None = Field(None, description="MIG profile.")


class Requests(SpecModel):
    """Explicit resource requests (instead of a preset)."""

    model_config = {"populate_by_name": True}

    cpu: Annotated[float, BeforeValidator(grammar.parse_cpu_quantity)] | None = Field(None, description="CPU cores: `4`, `500m`.")
    memory: Annotated[float, BeforeValidator(grammar.parse_quantity)] | None = Field(None, description="Memory: `16Gi`, `512Mi`.")
    nvidia_gpu: GpuRequest | None = Field(None, alias="nvidia.com/gpu", description="NVIDIA GPUs {device_type, quantity}.")
    nvidia_mig: GpuRequest | None = Field(None, alias="nvidia.com/mig", description="NVIDIA MIG slices.")
    gpu: GpuRequest | None = Field(None, description="GPUs {device_type, quantity} (same as nvidia.com/gpu).")


class VesslResources(SpecModel):
    """Where the run goes and what it gets: a cluster and a preset, or explicit requests."""

    cluster: Text | None = Field(None, description="Cluster to run on (`local`, `docker`, or a configured one).")
    preset: Text | None = Field(None, description="Resource preset name, e.g. `gpu-l4-small`.")
    requests: Requests | None = Field(None, description="Explicit requests {cpu, memory, nvidia.com/gpu}.")
    node_names: list[Text] = Field(default_factory=list, description="Candidate nodes.")
    spot: Literal["", "SpotOnly", "SpotFirst", "OnDemandOnly"] | None = Field(None, description="Spot policy.")
    cpu: Annotated[float, BeforeValidator(grammar.parse_cpu_quantity)] | None = Field(None, description="CPU cores (short form of requests.cpu).")
    memory: Annotated[float, BeforeValidator(grammar.parse_quantity)] | None = Field(None, description="Memory (short form of requests.memory).")
    accelerators: Annotated[GpuRequest, BeforeValidator(rules.accelerators)] | None = Field(None, description="Legacy `MODEL:COUNT`.")
    cluster_id: int | None = Field(None, description="Cluster id (web form).")
    preset_id: int | None = Field(None, description="Preset id (web form).")
    node_id: list[int] | None = Field(None, description="Node ids (web form).")

    RULES = (rules.requests_once,)


class ImageForm(SpecModel):
    """An image with registry credentials."""

    url: str = Field(description="Image reference, e.g. `nvcr.io/nvidia/pytorch:24.01-py3`.")
    credential_name: str | None = Field(None, description="Stored registry credential.")
    credential_id: int | None = Field(None, description="Registry credential id.")
    image_id: int | None = Field(None, description="Managed image id.")


class RunStep(SpecModel):
    """One `run` item: a command (with a workdir), and how long to pause after it."""

    command: str = Field(description="Shell lines to run.")
    workdir: str | None = Field(None, description="Directory to run them in.")
    wait: StrictDuration | None = Field(None, description="How long to pause after the command, e.g. `10s`.")


Run = by_shape(str=str, list=list[by_shape(str=str, dict=RunStep)])


class EnvForm(SpecModel):
    """An env value: `{value, secret: true}`, `{secret: NAME}` (a stored secret) or `{secret, source}`."""

    value: Text | None = Field(None, description="The value.")
    secret: by_shape(bool=bool, str=str) | None = Field(None, description="true: the value is secret; a name: a stored secret.")
    source: Literal["text", "secret", "inject"] | None = Field(None, description="text, secret or inject.")
    secret_id: int | None = Field(None, description="Stored secret id.")

    RULES = (rules.env_form,)


EnvValue = by_shape(str=str, number=Text, bool=Text, dict=EnvForm, null=Literal[None])


class PortForm(SpecModel):
    """A port the run listens on."""

    port: PortNumber = Field(description="Port number, 1..65535.")
    type: Literal["http", "tcp", "udp"] = Field("tcp", description="http, tcp or udp.")
    name: Text | None = Field(None, description="A name for the port.")


PortItem = by_shape(number=PortNumber, str=PortNumber, dict=PortForm)


class Jupyter(SpecModel):
    """Jupyter settings of an interactive run."""

    idle_timeout: StrictDuration | None = Field(
        None, description="Cull Jupyter after this idle time, e.g. `120m` (required with `jupyter`).")


class InteractiveForm(SpecModel):
    """An interactive run: stays up for SSH and Jupyter."""

    max_runtime: StrictDuration = Field(description="Stop after this long, e.g. `24h`.")
    jupyter: Jupyter | None = Field(None, description="Jupyter settings: {idle_timeout}.")
    idle_timeout: StrictDuration | None = Field(
        None, description="Where some examples put `jupyter.idle_timeout`: read as it, with a warning.")

    RULES = (rules.jupyter_idle_timeout,)


def _sources(read: Any) -> Any:
    return dict[str, Annotated[dict, BeforeValidator(read)]]


class VesslRun(SpecModel):
    """A VESSL run: an image, data to bring in, commands, resources."""

    name: Text | None = Field(None, description="Run name.")
    description: Text | None = Field(None, description="What the run is for (may be empty).")
    tags: list[Text] = Field(default_factory=list, description="Tags.")
    resources: VesslResources = Field(default_factory=VesslResources, description="Cluster and preset, or requests.")
    image: by_shape(str=str, dict=ImageForm) | None = Field(None, description="Container image, or {url, credential_name}.")
    import_: _sources(rules.import_source) = Field(
        default_factory=dict, alias="import",
        description="Container path -> source copied in before start: `git://…`, `hf://…`, `s3://…`, `vessl-dataset://…`.")
    mount: _sources(rules.mount_source) = Field(
        default_factory=dict, description="Container path -> source mounted live: `volume://…`, `hostpath://…`, `nfs://…`.")
    export: _sources(rules.export_source) = Field(
        default_factory=dict, description="Container path -> destination uploaded when the run ends.")
    run: Run | None = Field(None, description="Commands: a string, or a list of strings / {command, workdir} / {wait}.")
    interactive: InteractiveForm | None = Field(None, description="Keep the run up for SSH/Jupyter: {max_runtime, jupyter}.")
    ports: list[PortItem] = Field(default_factory=list, description="Ports: `8000` or {name, type, port}.")
    env: dict[str, EnvValue] = Field(default_factory=dict, description="NAME -> value, {value, secret: true} or {secret: NAME}.")
    service_account_name: str | None = Field(None, description="Kubernetes service account.")
    termination_protection: bool | None = Field(None, description="Keep the run idle after it finishes.")

    model_config = {"populate_by_name": True}

    RULES = (rules.image_named, rules.something_to_run)


class AutoscalingForm(SpecModel):
    """Replica bounds and the metric the autoscaler follows."""

    min: int = Field(1, ge=0, description="Fewest replicas.")
    max: int = Field(1, ge=1, description="Most replicas.")
    metric: Literal["cpu", "memory", "gpu", "nvidia.com/gpu", "requests"] = Field(
        description="cpu, memory, gpu (nvidia.com/gpu) or requests.")
    target: float = Field(gt=0, description="Target: percent for cpu/memory/gpu, requests per second per replica.")

    RULES = (rules.autoscaling_bounds,)


class Monitoring(SpecModel):
    """A Prometheus scrape target."""

    port: PortNumber = Field(description="Port serving metrics.")
    path: str = Field(description="Metrics path, e.g. /metrics.")


class Healthcheck(SpecModel):
    """Readiness check of a replica."""

    type: Literal["http", "tcp", "exec", "grpc"] = Field("http", description="http, tcp, exec or grpc.")
    path: str | None = Field(None, description="HTTP path.")
    port: PortNumber | None = Field(None, description="Port to check.")
    exec: list[str] | None = Field(None, description="Command to run.")
    grpc_service: str | None = Field(None, description="gRPC service name.")


class ServiceForm(SpecModel):
    """The serving part of a revision: exposed port, autoscaling, monitoring, health."""

    expose: PortNumber = Field(description="The port that receives traffic.")
    autoscaling: AutoscalingForm | None = Field(None, description="{min, max, metric, target}.")
    monitoring: list[Monitoring] = Field(default_factory=list, description="Prometheus targets [{port, path}].")
    healthcheck: Healthcheck | None = Field(None, description="Readiness check.")
    openapi: dict | None = Field(None, description="{method, path, url} of the OpenAPI document.")
    serverless: dict | None = Field(None, description="{enabled}.")
    auxiliary: dict | None = Field(None, description="{runner_type}.")


class ServiceAccount(SpecModel):
    """A Kubernetes service account for the replicas."""

    name: str = Field(description="Account name.")
    annotations: dict[str, str] | None = Field(None, description="Annotations.")


class VesslRevision(VesslRun):
    """A VESSL Serve revision: a run spec for each replica plus `message` and `service`."""

    message: Text | None = Field(None, description="What changed in this revision.")
    service: ServiceForm = Field(description="{expose, autoscaling, monitoring, healthcheck}.")
    service_account: ServiceAccount | None = Field(None, description="Service account of the replicas.")
