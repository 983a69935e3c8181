"""Backends by cluster kind, imported only when a cluster of that kind is used.

    backend_for(cluster) -> Backend      # raises BackendError for a kind this build cannot run
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from core.backends.base import Backend, BackendError

if TYPE_CHECKING:
    from core.config import ClusterConfig

#: cluster kind -> "module:class"
BACKENDS: dict[str, str] = {
    "local": "core.backends.local:LocalBackend",
    "docker": "core.backends.docker:DockerBackend",
    "ssh": "core.backends.ssh:SshBackend",
    "slurm": "core.backends.slurm:SlurmBackend",
}


def backend_class(kind: str) -> type[Backend]:
    target = BACKENDS.get(kind)
    if target is None:
        raise BackendError(f"cluster kind `{kind}` is unknown; use one of {', '.join(BACKENDS)}.")
    module_name, attr = target.split(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            raise BackendError(f"clusters of kind `{kind}` are not supported by this build.") from None
        raise
    return getattr(module, attr)


def backend_for(cluster: "ClusterConfig") -> Backend:
    """A backend instance driving `cluster`."""
    return backend_class(cluster.kind)(cluster)
