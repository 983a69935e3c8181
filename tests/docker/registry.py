"""A private image registry for the Docker tests: Debian's `docker-registry` (the distribution
registry) on 127.0.0.1 with htpasswd (bcrypt) logins, holding `test/busybox` as a private image.

Docker trusts 127.0.0.0/8 registries over plain HTTP, so neither TLS nor engine flags are needed.
Needs the Debian package docker-registry (the fixture fails without it: CI installs it).
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fixtures.dockerd import BUSYBOX_IMAGE, free_port

USERNAME = "alice"
PASSWORD = "wonder-land-7"
START_TIMEOUT = 30.0


@dataclass
class Registry:
    address: str  # host:port
    username: str
    password: str

    @property
    def image(self) -> str:
        """A private copy of test/busybox on this registry (only logged-in pulls get it)."""
        return f"{self.address}/vt/busybox:1"


def _answers(address: str) -> bool:
    try:
        urllib.request.urlopen(f"http://{address}/v2/", timeout=1)
    except urllib.error.HTTPError as exc:
        return exc.code == 401
    except OSError:
        return False
    return False


@pytest.fixture(scope="module")
def registry(dockerd: str) -> Iterator[Registry]:
    """A running registry with logins, holding `Registry.image`, pushed from the test engine."""
    import bcrypt
    import docker

    binary = shutil.which("docker-registry")
    if binary is None:
        pytest.fail("docker-registry is not installed: install the docker-registry package to run registry tests.")
    root = Path(tempfile.mkdtemp(prefix="vt-registry-", dir="/tmp"))
    address = f"127.0.0.1:{free_port()}"
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()
    (root / "htpasswd").write_text(f"{USERNAME}:{hashed}\n")
    (root / "config.yml").write_text(f"""version: 0.1
log: {{level: warn}}
storage: {{filesystem: {{rootdirectory: {root / 'data'}}}}}
http: {{addr: "{address}", secret: vessl-tui-test}}
auth: {{htpasswd: {{realm: vessl-tui-test, path: {root / 'htpasswd'}}}}}
""")
    log = open(root / "registry.log", "wb")
    proc = subprocess.Popen([binary, "serve", str(root / "config.yml")], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not _answers(address):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"docker-registry did not start:\n{(root / 'registry.log').read_text()[-2000:]}")
            time.sleep(0.1)
        found = Registry(address, USERNAME, PASSWORD)
        client = docker.DockerClient(base_url=dockerd)
        try:
            repository, tag = found.image.rsplit(":", 1)
            client.images.get(BUSYBOX_IMAGE).tag(repository, tag)
            for event in client.api.push(repository, tag=tag, stream=True, decode=True,
                                         auth_config={"username": USERNAME, "password": PASSWORD}):
                assert "error" not in event, event
            client.images.remove(found.image)
        finally:
            client.close()
        yield found
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        shutil.rmtree(root, ignore_errors=True)
