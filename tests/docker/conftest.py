"""The Docker test area runs against a private, real Docker engine (see tests/fixtures/dockerd.py)
and, for private images, a real registry with logins (see tests/docker/registry.py)."""

from tests.docker.registry import registry  # noqa: F401
from tests.fixtures.dockerd import BUSYBOX_IMAGE, dockerd, dockerd_tls  # noqa: F401

__all__ = ["BUSYBOX_IMAGE", "dockerd", "dockerd_tls", "registry"]
