"""The docker CLI's own settings, read the way the CLI reads them, without the docker SDK.

- `docker_config_dir()`: `$DOCKER_CONFIG`, else `~/.docker`.
- `current_context()`: the context the CLI uses when given none (`DOCKER_HOST` wins over any
  context; then `DOCKER_CONTEXT`; then `currentContext` in config.json, set by `docker context use`).
- `context_endpoint(name)`: the engine address and TLS folder of a context, from the CLI's context
  store (`contexts/meta/<sha256>/meta.json`, TLS files under `contexts/tls/<sha256>/docker/`).
- `default_engine()`: the address the CLI reaches with no flags (None: the default socket).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import NamedTuple


class ContextEndpoint(NamedTuple):
    host: str
    tls_dir: Path | None  # the context's ca/cert/key folder, when it has one
    verify: bool


def docker_config_dir() -> Path:
    """The docker CLI's config folder: $DOCKER_CONFIG, else ~/.docker."""
    return Path(os.environ.get("DOCKER_CONFIG") or Path.home() / ".docker")


def current_context() -> str | None:
    """The context the docker CLI uses when given none; None for the default one (DOCKER_HOST or
    the default socket)."""
    if os.environ.get("DOCKER_HOST"):
        return None
    name = os.environ.get("DOCKER_CONTEXT")
    if not name:
        try:
            name = json.loads((docker_config_dir() / "config.json").read_text()).get("currentContext")
        except (OSError, ValueError, AttributeError):
            name = None
    return None if not name or name == "default" else name


def context_endpoint(name: str) -> ContextEndpoint:
    """Where context `name` reaches its engine; LookupError when the store has no such context."""
    key = hashlib.sha256(name.encode()).hexdigest()
    folder = docker_config_dir() / "contexts"
    try:
        endpoint = json.loads((folder / "meta" / key / "meta.json").read_text())["Endpoints"]["docker"]
        host = endpoint["Host"]
    except (OSError, ValueError, KeyError, TypeError):
        raise LookupError(f"docker context {name} does not exist in {folder}: create it with "
                          "`docker context create` or fix `context:` in the config.") from None
    tls_dir = folder / "tls" / key / "docker"
    has_tls = any((tls_dir / f).exists() for f in ("ca.pem", "cert.pem"))
    return ContextEndpoint(host, tls_dir if has_tls else None, not endpoint.get("SkipTLSVerify", False))


def default_engine() -> str | None:
    """The engine address the docker CLI reaches with no flags: DOCKER_HOST, else the current
    context's (when it is readable), else None for the default socket."""
    if os.environ.get("DOCKER_HOST"):
        return os.environ["DOCKER_HOST"]
    name = current_context()
    if name is None:
        return None
    try:
        return context_endpoint(name).host
    except LookupError:
        return None
