"""The Docker test area runs against a private, real Docker engine (see tests/fixtures/dockerd.py)."""

from tests.fixtures.dockerd import BUSYBOX_IMAGE, dockerd  # noqa: F401

__all__ = ["BUSYBOX_IMAGE", "dockerd"]
