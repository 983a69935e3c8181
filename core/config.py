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
when a Docker engine answers at DOCKER_HOST or the default socket). A config entry with the same name
overrides a built-in one.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

ClusterKind = Literal["local", "docker", "ssh", "slurm"]


class ClusterConfig(BaseModel):
    """One place runs execute. Fields beyond `name`/`kind` matter only to some kinds."""

    model_config = ConfigDict(extra="forbid")

    name: str
    kind: ClusterKind = Field(description="local, docker, ssh or slurm.")
    host: str | None = Field(None, description="docker: engine URL (unix://, tcp://, ssh://); ssh: host or alias.")
    port: int | None = Field(None, description="ssh: port (default from ~/.ssh/config, else 22).")
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
    options: dict[str, Any] = Field(default_factory=dict, description="Backend-specific extras.")
    builtin: bool = Field(False, description="True for clusters the product adds by itself.")


class Preset(BaseModel):
    """A named resource request: `resources.preset: NAME` in a spec."""

    model_config = ConfigDict(extra="forbid")

    name: str
    cpu: float | None = Field(None, description="CPU cores.")
    memory: str | None = Field(None, description="Memory, e.g. 4Gi or 16GB.")
    gpu: str | int | None = Field(None, description="GPU request in dstack grammar, e.g. L4:1.")
    cluster: str | None = Field(None, description="Only valid on this cluster (None: any cluster).")
    description: str | None = None


def config_path() -> Path:
    """`VESSL_TUI_CONFIG`, else the platform user-config dir's `config.yaml`."""
    env = os.environ.get("VESSL_TUI_CONFIG")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_config_dir

    return Path(user_config_dir("vessl-tui")) / "config.yaml"


def home_path() -> Path:
    """`VESSL_TUI_HOME`, else the platform user-data dir. Holds the store, logs and artifacts."""
    env = os.environ.get("VESSL_TUI_HOME")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("vessl-tui"))
