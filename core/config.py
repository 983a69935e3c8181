"""Clusters and resource presets: the config file (`VESSL_TUI_CONFIG`) plus built-in clusters.

```yaml
clusters:
  gpu-box: {kind: ssh, host: gpu-box, runtime: process, known_hosts: ~/.ssh/known_hosts}
  lab:     {kind: docker, host: ssh://me@lab-server}
presets:
  cpu-small: {cpu: 2, memory: 4Gi}
  gpu-l4-small: {cpu: 4, memory: 16Gi, gpu: "L4:1"}
```

Built-in: `local` (processes on this machine; always present; the default) and `docker` (present
when a Docker engine answers where the docker CLI goes with no flags: DOCKER_HOST, the current
`docker context`, or the default socket). A config entry with the same name
overrides a built-in one.

```yaml
default_cluster: local      # where runs go without --cluster
keys: {runs.stop: ctrl+k}   # binding id -> key(s), applied to the TUI's keymap
secrets: {HF_TOKEN: hf_...} # named secrets for `secret_ref` env entries (also VESSL_TUI_SECRET_<NAME>)
credentials:                # private registries, named by VESSL `image.credential_name`
  ghcr: {registry: ghcr.io, username: me, password: ghp_...}
storage:                    # object stores and the registry: see core/data/settings.py
  s3: {endpoint_url: http://minio.lan:9000}
```

Credential passwords never leave the supervisor that pulls with them: they are not copied into
the store, a log or any repr. A spec without a credential lets the docker SDK use
`~/.docker/config.json` and its credential helpers.

    load_config(path=None) -> Config      # raises ConfigError (file:line:col: error: path: message)
    config.clusters() -> list[ClusterConfig]   # built-ins first; docker probed on first call only
    config.cluster(name) -> ClusterConfig       # raises ConfigError naming the known clusters
    config.presets_for(cluster) -> list[Preset]; config.preset(name, cluster) -> Preset
    config.secret(name) -> str | None
    config.credential(name) -> Credential | None
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from core.errors import EngineError
from core.paths import SECRET_ENV_PREFIX, config_path, home_path  # noqa: F401  (re-exported: part of this module's contract)
from core.spec.errors import Problem

if TYPE_CHECKING:
    from core.data.settings import StorageSettings

ClusterKind = Literal["local", "docker", "ssh", "slurm"]


class ClusterConfig(BaseModel):
    """One place runs execute. Fields beyond `name`/`kind` matter only to some kinds."""

    model_config = ConfigDict(extra="forbid")

    name: str
    kind: ClusterKind = Field(description="local, docker, ssh or slurm.")
    host: str | None = Field(None, description="docker: engine URL (unix://, tcp://, ssh://); ssh: host or alias.")
    port: int | None = Field(None, ge=1, le=65535, description="ssh: port 1..65535 (default from ~/.ssh/config, else 22).")
    user: str | None = Field(None, description="ssh: login user.")
    identity_file: str | None = Field(None, description="ssh: private key file.")
    proxy_jump: str | None = Field(None, description="ssh: jump host (user@host:port).")
    known_hosts: str | None = Field(None, description="ssh: known_hosts file (default ~/.ssh/known_hosts).")
    runtime: Literal["process", "docker"] = Field("process", description="ssh: run as processes or in Docker.")
    tls_verify: bool | None = Field(None, description="docker: verify the engine's TLS certificate.")
    cert_path: str | None = Field(None, description="docker: folder with ca.pem, cert.pem, key.pem.")
    context: str | None = Field(None, description="docker: name of a docker CLI context to use.")
    work_root: str | None = Field(None, description="ssh: folder on the host for runs (~/.vessl-tui).")
    gpus: list[str] | None = Field(None, description="Override detected GPUs (names), e.g. for tests.")
    login: str | None = Field(None, description="slurm: SSH login host (alias) where sbatch runs; none: this machine.")
    partition: str | None = Field(None, description="slurm: default partition (else the cluster's default).")
    account: str | None = Field(None, description="slurm: account jobs are charged to.")
    qos: str | None = Field(None, description="slurm: quality of service of jobs.")
    slurm_conf: str | None = Field(None, description="slurm: slurm.conf path, exported as SLURM_CONF.")
    options: dict[str, Any] = Field(default_factory=dict, description="Backend-specific extras.")
    builtin: bool = Field(False, description="True for clusters the product adds by itself.")


class Preset(BaseModel):
    """A named resource request: `resources.preset: NAME` in a spec."""

    model_config = ConfigDict(extra="forbid")

    name: str
    cpu: float | None = Field(None, gt=0, description="CPU cores (more than 0).")
    memory: str | None = Field(None, description="Memory, e.g. 4Gi or 16GB.")

    @field_validator("memory", mode="before")
    @classmethod
    def _memory_size(cls, value: Any) -> Any:
        """A size the resolver can read (`4Gi`, `16GB`, a number of GB), never text like `lots`."""
        if value is None:
            return None
        from core.resolve import memory_gb

        try:
            size = memory_gb(value)
        except ValueError as exc:
            raise ValueError(str(exc)) from None
        if size <= 0:
            raise ValueError(f"memory must be more than 0, got {value}")
        return str(value)
    gpu: str | int | None = Field(None, description="GPU request in dstack grammar, e.g. L4:1.")
    cluster: str | None = Field(None, description="Only valid on this cluster (None: any cluster).")
    description: str | None = None


class Credential(BaseModel):
    """Login for a private image registry: `credentials.NAME` in the config. The password is a
    SecretStr: shown as `**********` in every repr and dump; `.get_secret_value()` reads it."""

    model_config = ConfigDict(extra="forbid")

    name: str
    registry: str | None = Field(None, description="Registry host, e.g. ghcr.io or registry.example.com:5000.")
    username: str = Field(description="Registry user name.")
    password: SecretStr = Field(description="Registry password or access token.")


class ConfigError(EngineError):
    """The config file is invalid, or names something unknown. `problems` point into the file."""

    def __init__(self, message: str, problems: list[Problem] | None = None):
        self.problems = problems or []
        super().__init__(message)


LOCAL_CLUSTER = ClusterConfig(name="local", kind="local", builtin=True)


@dataclass
class Config:
    """The loaded config file plus the built-in clusters."""

    path: Path
    configured: dict[str, ClusterConfig] = field(default_factory=dict)
    preset_map: dict[str, Preset] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict, repr=False)
    credentials: dict[str, Credential] = field(default_factory=dict, repr=False)
    default_cluster: str = "local"
    storage: "StorageSettings" = field(default_factory=lambda: _storage_settings(), repr=False)
    _docker: ClusterConfig | None | bool = field(default=False, repr=False)  # False: not probed yet

    def builtin_docker(self) -> ClusterConfig | None:
        """The built-in `docker` cluster when an engine answers (probed once, on first use)."""
        if self._docker is False:
            self._docker = None
            if "docker" not in self.configured and docker_engine_answers():
                self._docker = ClusterConfig(name="docker", kind="docker", builtin=True)
        return self._docker or None

    def clusters(self) -> list[ClusterConfig]:
        found: dict[str, ClusterConfig] = {"local": LOCAL_CLUSTER}
        docker = self.builtin_docker()
        if docker is not None:
            found["docker"] = docker
        found.update(self.configured)
        return list(found.values())

    def cluster(self, name: str | None = None) -> ClusterConfig:
        name = name or self.default_cluster
        if name in self.configured:
            return self.configured[name]
        if name == "local":
            return LOCAL_CLUSTER
        if name == "docker" and self.builtin_docker() is not None:
            return self.builtin_docker()  # type: ignore[return-value]
        known = ", ".join(c.name for c in self.clusters())
        hint = " (no Docker engine answers at DOCKER_HOST, the docker CLI's current context or /var/run/docker.sock)" if name == "docker" else ""
        raise ConfigError(f"unknown cluster `{name}`{hint}; known clusters: {known}.")

    def presets(self) -> list[Preset]:
        return list(self.preset_map.values())

    def presets_for(self, cluster: str) -> list[Preset]:
        return [p for p in self.preset_map.values() if p.cluster in (None, cluster)]

    def preset(self, name: str, cluster: str) -> Preset:
        preset = self.preset_map.get(name)
        if preset is None:
            known = ", ".join(p.name for p in self.presets_for(cluster)) or "none are defined"
            raise ConfigError(f"unknown preset `{name}`; presets for cluster {cluster}: {known}.")
        if preset.cluster not in (None, cluster):
            raise ConfigError(f"preset `{name}` belongs to cluster {preset.cluster}, not {cluster}.")
        return preset

    def with_presets(self, extra: list[Preset]) -> "Config":
        """A copy that also knows `extra` presets (a cluster's own: Slurm partitions); the
        config's own presets win on a name clash."""
        from dataclasses import replace

        return replace(self, preset_map={**{p.name: p for p in extra}, **self.preset_map})

    def secret(self, name: str) -> str | None:
        """A named secret: the config's `secrets:` map, else the environment's VESSL_TUI_SECRET_<NAME>
        (the name as written, or upper-case with `-` and `.` as `_`: `hf-token` -> VESSL_TUI_SECRET_HF_TOKEN)."""
        if name in self.secrets:
            return self.secrets[name]
        for env_name in (name, name.upper(), name.upper().replace("-", "_").replace(".", "_")):
            value = os.environ.get(SECRET_ENV_PREFIX + env_name)
            if value:
                return value
        return None

    def credential(self, name: str) -> Credential | None:
        """The registry login `credentials.NAME`, or None when the config has none of that name."""
        return self.credentials.get(name)


_TOP_KEYS = {"clusters", "presets", "keys", "secrets", "credentials", "default_cluster", "storage"}


def _storage_settings(value: dict | None = None) -> "StorageSettings":
    from core.data.settings import StorageSettings

    return StorageSettings.model_validate(value or {})


def load_config(path: Path | None = None) -> Config:
    """Read the config file (a missing file is an empty config). Raises ConfigError listing every
    problem compiler-style: `config.yaml:4:11: error: clusters.lab.kind: …`."""
    from core.spec import yamlpos

    path = path or config_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Config(path=path)
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: the config file is not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset "
                          f"{exc.start}); save it as UTF-8.") from None
    except OSError as exc:
        raise ConfigError(f"cannot read the config file {path}: {exc.strerror}.") from None
    docs = [d for d in yamlpos.parse(text) if d.error or d.value is not None]
    config = Config(path=path)
    if not docs:
        return config
    doc = docs[0]
    problems: list[Problem] = []

    def problem(where: tuple, message: str, key: bool = False) -> None:
        line, col = doc.pos(where, prefer_key=key)
        problems.append(Problem(str(path), line, col, ".".join(str(p) for p in where), message))

    if doc.error:
        line, col, message = doc.error
        raise ConfigError(f"{path}:{line}:{col}: error: {message}", [Problem(str(path), line, col, "", message)])
    data = doc.value
    if not isinstance(data, dict):
        problem((), "the config must be a mapping with clusters, presets, keys, secrets")
        data = {}
    for key in data:
        if key not in _TOP_KEYS:
            problem((key,), f"unknown key; expected one of {', '.join(sorted(_TOP_KEYS))}", key=True)
    for name, entry in _mapping(data, "clusters", problem).items():
        if isinstance(entry, dict) and "name" in entry:
            problem(("clusters", name, "name"), "the cluster's name is its key; remove `name`", key=True)
            continue
        cluster = _model(ClusterConfig, {**(entry or {}), "name": name}, ("clusters", name), problem)
        if cluster is not None:
            config.configured[str(name)] = cluster
    for name, entry in _mapping(data, "presets", problem).items():
        preset = _model(Preset, {**(entry or {}), "name": name}, ("presets", name), problem)
        if preset is not None:
            config.preset_map[str(name)] = preset
    for name, entry in _mapping(data, "credentials", problem).items():
        value = {**entry, "name": name} if isinstance(entry, dict) else entry
        credential = _model(Credential, value, ("credentials", name), problem)
        if credential is not None:
            config.credentials[str(name)] = credential
    if data.get("storage") is not None:
        from core.data.settings import StorageSettings

        storage = _model(StorageSettings, data["storage"], ("storage",), problem)
        if storage is not None:
            config.storage = storage
    for section in ("keys", "secrets"):
        for name, value in _mapping(data, section, problem).items():
            if not isinstance(value, str):
                problem((section, name), "expected a string" + (" (quote it)" if section == "secrets" else ""))
            else:
                getattr(config, section)[str(name)] = value
    default = data.get("default_cluster", "local")
    if not isinstance(default, str):
        problem(("default_cluster",), "expected a cluster name")
    else:
        config.default_cluster = default
        for name, preset in config.preset_map.items():
            if preset.cluster and preset.cluster not in config.configured and preset.cluster not in ("local", "docker"):
                problem(("presets", name, "cluster"), f"unknown cluster `{preset.cluster}`")
    if problems:
        raise ConfigError("\n".join(p.format() for p in problems), problems)
    return config


def _mapping(data: dict, key: str, problem: Any) -> dict:
    value = data.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        problem((key,), "expected a mapping of names to entries")
        return {}
    return value


def _model(model: type[BaseModel], value: Any, where: tuple, problem: Any) -> Any:
    if not isinstance(value, dict):
        problem(where, "expected a mapping")
        return None
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        for err in exc.errors():
            loc = tuple(err["loc"])
            message = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                fields = ", ".join(f for f in model.model_fields if f not in ("name", "builtin"))
                message = f"unknown field; expected one of {fields}"
            problem(where + loc, message, key=err["type"] == "extra_forbidden")
        return None


def docker_engine_answers(timeout: float = 0.5) -> bool:
    """True when a Docker engine answers `GET /_ping` where the docker CLI would go with no flags
    (DOCKER_HOST, the current context, else the default socket; unix:// or tcp://). An ssh://
    host is not probed (that would need a login): it counts as present."""
    from core.dockercli import default_engine

    host = default_engine() or "unix:///var/run/docker.sock"
    url = urlparse(host)
    try:
        if url.scheme == "unix":
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            address: Any = url.path
        elif url.scheme in ("tcp", "http", "https"):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            address = (url.hostname or "127.0.0.1", url.port or 2375)
            if url.scheme == "https" or os.environ.get("DOCKER_TLS_VERIFY"):
                sock.settimeout(timeout)
                sock.connect(address)
                sock.close()
                return True
        elif url.scheme == "ssh":
            return True
        else:
            return False
        sock.settimeout(timeout)
        with sock:
            sock.connect(address)
            sock.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            return sock.recv(64).split(b" ", 2)[1:2] == [b"200"]
    except (OSError, IndexError):
        return False
