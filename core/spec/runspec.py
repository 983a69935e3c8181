"""RunSpec: the one normalized model every backend executes.

VESSL run YAML, dstack task / service / dev-environment YAML and serve revisions all map into a
`RunSpec`. Backends see only this model, never the source formats. A RunSpec is plain data: it
serialises to JSON (`model_dump_json`) for the store and the supervisor, with secret values
replaced by `SECRET_PLACEHOLDER` (see `RunSpec.redacted`).

Units: durations are seconds (float), memory and disk are GiB-like "GB" floats as dstack counts them
(1 GB = 1024 MB), CPU is a count of cores. `None` in a range bound means "unbounded".
"""

from typing import Literal

from pydantic import Field

from core.spec.quantities import DataModel as _Model
from core.spec.quantities import GpuSpec, Range

SECRET_PLACEHOLDER = "********"

SpecKind = Literal[
    "vessl-run",
    "vessl-revision",
    "dstack-task",
    "dstack-service",
    "dstack-dev-environment",
    "dstack-fleet",
]


class Resources(_Model):
    """Resources a run asks for, as ranges; resolved against a cluster's capacity at submit."""

    cpu: Range | None = Field(None, description="CPU cores.")
    cpu_arch: str | None = Field(None, description="x86 or arm.")
    memory_gb: Range | None = Field(None, description="Host memory in GB.")
    gpu: GpuSpec = Field(default_factory=GpuSpec, description="GPU request.")
    disk_gb: Range | None = Field(None, description="Disk size in GB.")
    shm_size_gb: float | None = Field(None, description="Shared memory (/dev/shm) size in GB.")
    preset: str | None = Field(None, description="Named resource preset from the config.")
    cluster: str | None = Field(None, description="Cluster named by the spec (VESSL resources.cluster).")
    node_names: list[str] = Field(default_factory=list, description="Candidate nodes.")
    spot: str | None = Field(None, description="Spot policy: spot, on-demand, auto (or VESSL's values).")


class Command(_Model):
    """One step of a run: a shell command in a workdir, or a pause (`wait` seconds)."""

    command: str | None = Field(None, description="Shell text run by bash (or sh where bash is absent).")
    workdir: str | None = Field(None, description="Directory to run in; relative = under the run's folder.")
    wait: float | None = Field(None, description="Seconds to pause instead of running a command.")


class EnvVar(_Model):
    """An environment variable. A secret's value never reaches the store, a log or the screen."""

    name: str
    value: str | None = Field(None, description="Literal value; None when it comes from elsewhere.")
    secret: bool = Field(False, description="True when the value must be kept secret.")
    secret_ref: str | None = Field(None, description="Name of a stored secret that supplies the value.")
    from_client_env: bool = Field(False, description="dstack `- NAME`: value taken from the submitting shell.")


VolumeKind = Literal["import", "mount", "export", "named", "bind"]


class Volume(_Model):
    """Data attached to a run at `path` inside it.

    kind: import (copied in before start), mount (live), export (copied out after the run),
    named (dstack network/named volume `name:/path`), bind (`/host:/path`, instance path).
    source: a URI (`git://…`, `hf://…`, `s3://…`, `hostpath:///abs`, `volume://s/v`, `file:///p`,
    `nfs://server/path`) or, for named volumes, the volume name; for binds, the host path.
    """

    kind: VolumeKind
    path: str = Field(description="Path inside the run (container path or run-relative folder).")
    source: str = Field(description="Where the data comes from or goes to.")
    ref: str | None = Field(None, description="git ref (branch, tag or commit) for git imports.")
    readonly: bool = False
    optional: bool = False
    credential: str | None = Field(None, description="Name of a stored credential for the source.")


class Port(_Model):
    """A port the run listens on. `local_port` None = pick a free one when tunnelling."""

    container_port: int = Field(ge=1, le=65535)
    local_port: int | None = Field(None, ge=1, le=65535)
    name: str | None = None
    protocol: Literal["http", "tcp", "udp"] = "tcp"


class Retry(_Model):
    """Re-run policy: on which events, for how long (seconds) and how many attempts at most."""

    on_events: list[str] = Field(default_factory=lambda: ["no-capacity", "interruption", "error"])
    duration: float | None = Field(None, description="Give up retrying after this many seconds.")
    limit: int | None = Field(None, description="At most this many attempts in all (None: no count limit).")


class Autoscaling(_Model):
    """Replica bounds and the metric the autoscaler follows."""

    min: int = Field(1, ge=0)
    max: int = Field(1, ge=1)
    metric: str | None = Field(None, description="cpu, memory, gpu, rps or inflight.")
    target: float | None = Field(None, description="Target value of the metric (percent, or per replica).")
    scale_up_delay: float = 30.0
    scale_down_delay: float = 60.0


class ServiceSpec(_Model):
    """How a long-running server is exposed: the port that gets traffic, replicas, readiness."""

    port: int = Field(ge=1, le=65535, description="Port inside each replica that receives traffic.")
    autoscaling: Autoscaling = Field(default_factory=Autoscaling)
    health_path: str | None = Field(None, description="HTTP path for readiness; None = TCP connect.")
    health_type: Literal["http", "tcp"] = "tcp"
    monitoring: list[dict] = Field(default_factory=list)


class Interactive(_Model):
    """Interactive session settings (VESSL `interactive`, dstack dev-environment)."""

    jupyter: bool = False
    idle_timeout: float | None = Field(None, description="Seconds of Jupyter inactivity before culling.")
    ide: str | None = None


class RunSpec(_Model):
    """The normalized run description. `source_*` and `positions` tie it back to the user's file."""

    kind: SpecKind
    name: str | None = None
    description: str | None = None
    tags: list[str] = Field(default_factory=list)
    message: str | None = Field(None, description="Revision message (serve).")

    image: str | None = None
    image_credential: str | None = Field(None, description="Stored credential name for a private registry.")
    registry_username: str | None = None
    registry_password: str | None = Field(None, description="Secret; redacted in the store.")
    python: str | None = None
    entrypoint: str | None = None
    working_dir: str | None = None
    user: str | None = None
    privileged: bool = False
    shell: str | None = None

    commands: list[Command] = Field(default_factory=list)
    env: list[EnvVar] = Field(default_factory=list)
    resources: Resources = Field(default_factory=Resources)
    volumes: list[Volume] = Field(default_factory=list)
    ports: list[Port] = Field(default_factory=list)

    max_duration: float | None = Field(None, description="Seconds; exceeded -> status terminated.")
    stop_duration: float | None = Field(None, description="SIGTERM -> SIGKILL grace in seconds (default 10).")
    idle_duration: float | None = None
    retry: Retry | None = None
    nodes: int = Field(1, ge=1)
    interactive: Interactive | None = None
    service: ServiceSpec | None = None

    source_file: str | None = Field(None, description="Path of the file the spec came from.")
    source_text: str | None = Field(None, description="The document's text (secrets redacted when stored).")
    document_index: int = Field(0, description="Index of the YAML document within the file.")
    positions: dict[str, tuple[int, int]] = Field(
        default_factory=dict, description="Field path -> (line, column), 1-based, of the source."
    )

    @property
    def grace_seconds(self) -> float:
        return 10.0 if self.stop_duration is None else self.stop_duration

    def secret_values(self) -> dict[str, str]:
        """Name -> clear value of every secret env var whose value is known."""
        return {e.name: e.value for e in self.env if e.secret and e.value is not None}

    def redacted(self) -> "RunSpec":
        """A copy safe to store or show: secret values, and their text in the source, replaced.

        The value is blanked where the spec declares it (by position, whatever its length) and,
        when it is long enough not to collide with ordinary text (4+ characters), wherever else it
        appears in the source (a command that echoes it, say).
        """
        copy = self.model_copy(deep=True)
        secrets: list[tuple[str, str]] = [
            (e.name, e.value) for e in copy.env if e.secret and e.value and e.value != SECRET_PLACEHOLDER
        ]
        if copy.registry_password and copy.registry_password != SECRET_PLACEHOLDER:
            secrets.append(("registry_auth.password", copy.registry_password))
        if copy.source_text:
            copy.source_text = _scrub(copy.source_text, secrets, copy.positions)
        for env in copy.env:
            if env.secret and env.value is not None:
                env.value = SECRET_PLACEHOLDER
        if copy.registry_password:
            copy.registry_password = SECRET_PLACEHOLDER
        return copy


def _scrub(text: str, secrets: list[tuple[str, str]], positions: dict[str, tuple[int, int]]) -> str:
    """`text` with each secret value's YAML node blanked, whatever its style (`core.spec.redact`)."""
    from core.spec.redact import blank_secrets

    return blank_secrets(text, secrets)
