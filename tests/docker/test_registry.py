"""Pulls from a private registry (tests/docker/registry.py): config credentials, dstack
registry_auth, the docker CLI's config.json, and one sentence for a refused login."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from core.backends.base import BackendError
from core.config import load_config
from tests.docker.helpers import backend_at, context, execute, spec_of
from tests.docker.registry import Registry

pytestmark = pytest.mark.docker


@pytest.fixture
def image(registry: Registry, dockerd: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The registry's private image, absent from the engine before and after the test; the docker
    CLI config is an empty folder, so no login comes from this machine's ~/.docker."""
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker-config"))
    client = docker.DockerClient(base_url=dockerd)
    yield registry.image
    try:
        client.images.remove(registry.image)
    except docker.errors.ImageNotFound:
        pass
    client.close()


def write_config(config_file: Path, registry: Registry, password: str, host: str | None = None) -> None:
    config_file.write_text(json.dumps({"credentials": {"lab": {
        "registry": host or registry.address, "username": registry.username, "password": password}}}))


def vessl_spec(image: str) -> str:
    return f"""
name: private
image: {{url: "{image}", credential_name: lab}}
run:
  - command: echo pulled
"""


def test_a_configured_credential_pulls_the_private_image(image, registry, dockerd, config_file, tmp_path):
    write_config(config_file, registry, registry.password)
    backend = backend_at(dockerd)
    ctx = context(spec_of(vessl_spec(image)), tmp_path, backend)
    try:
        info, log, _ = execute(backend, ctx)
    finally:
        backend.cleanup(ctx, None)
    assert (info.exit_code, log) == (0, "pulled\n")
    assert f"pulled image {image}" in ctx.provision.text
    assert registry.password not in ctx.provision.text
    config = load_config()
    assert registry.password not in repr(config) + repr(config.credentials) + str(config.credential("lab"))


def test_a_wrong_password_is_one_sentence(image, registry, dockerd, config_file, tmp_path):
    write_config(config_file, registry, "not-the-password")
    backend = backend_at(dockerd)
    ctx = context(spec_of(vessl_spec(image)), tmp_path, backend)
    with pytest.raises(BackendError) as err:
        backend.prepare(ctx)
    assert str(err.value) == (f"registry {registry.address} refused credential lab for image {image}: check the "
                              "username and password of credentials.lab in the config.")
    assert "not-the-password" not in ctx.provision.text


def test_no_login_at_all_is_one_sentence(image, registry, dockerd, tmp_path):
    backend = backend_at(dockerd)
    ctx = context(spec_of(f"type: task\nimage: {image}\ncommands: [echo pulled]\n"), tmp_path, backend)
    with pytest.raises(BackendError) as err:
        backend.prepare(ctx)
    assert str(err.value) == (
        f"registry {registry.address} refused image {image} without a login (or it does not exist there): name a "
        "credential in image.credential_name (VESSL) or registry_auth (dstack), "
        f"or run `docker login {registry.address}`.")


def test_dstack_registry_auth_pulls_the_private_image(image, registry, dockerd, tmp_path):
    backend = backend_at(dockerd)
    spec = spec_of(f"""
type: task
image: {image}
registry_auth: {{username: {registry.username}, password: {registry.password}}}
commands: [echo pulled]
""")
    ctx = context(spec, tmp_path, backend)
    try:
        info, log, _ = execute(backend, ctx)
    finally:
        backend.cleanup(ctx, None)
    assert (info.exit_code, log) == (0, "pulled\n")
    assert registry.password not in ctx.provision.text


def test_without_a_credential_the_docker_cli_login_is_used(image, registry, dockerd, tmp_path):
    login = base64.b64encode(f"{registry.username}:{registry.password}".encode()).decode()
    folder = tmp_path / "docker-config"  # DOCKER_CONFIG of this test (see the `image` fixture)
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"auths": {registry.address: {"auth": login}}}))
    backend = backend_at(dockerd)
    ctx = context(spec_of(f"type: task\nimage: {image}\ncommands: [echo pulled]\n"), tmp_path, backend)
    try:
        info, log, _ = execute(backend, ctx)
    finally:
        backend.cleanup(ctx, None)
    assert (info.exit_code, log) == (0, "pulled\n")


def test_a_credential_is_never_sent_to_another_registry(image, registry, dockerd, config_file, tmp_path):
    write_config(config_file, registry, registry.password, host="ghcr.io")
    backend = backend_at(dockerd)
    ctx = context(spec_of(vessl_spec(image)), tmp_path, backend)
    with pytest.raises(BackendError) as err:
        backend.prepare(ctx)
    assert str(err.value) == (f"credential lab is for registry ghcr.io, but image {image} comes from "
                              f"{registry.address}: name a credential for {registry.address} in image.credential_name.")


def test_an_unknown_credential_name_says_where_to_add_it(dockerd, config_file, tmp_path):
    backend = backend_at(dockerd)
    ctx = context(spec_of(vessl_spec("127.0.0.1:1/absent:1")), tmp_path, backend)
    with pytest.raises(BackendError) as err:
        backend.prepare(ctx)
    assert str(err.value) == ("image credential lab is not configured: add `lab: {registry, username, password}` "
                              f"under `credentials:` in the config ({config_file}).")


def test_registry_auth_through_the_engine_logs_in_and_stores_no_password(image, registry, dockerd, config_file,
                                                                          tmp_path, vessl_home):
    from core.engine import Engine

    config_file.write_text(f"clusters:\n  dk: {{kind: docker, host: '{dockerd}'}}\n")
    path = tmp_path / "private.dstack.yml"
    path.write_text(f"""
type: task
image: {image}
registry_auth: {{username: {registry.username}, password: "{registry.password}"}}
commands: [echo pulled]
""")
    engine = Engine()
    record = engine.submit(path, cluster="dk")
    final = engine.wait(record.id, timeout=120)
    provisioning = engine.read_log(record.id, 0, provisioning=True)[0].decode()
    assert (final.status, final.exit_code) == ("succeeded", 0), (final.reason, provisioning)
    assert engine.read_log(record.id, 0)[0] == b"pulled\n"
    stored = b"".join(p.read_bytes() for p in vessl_home.rglob("*") if p.is_file())
    assert registry.password.encode() not in stored
