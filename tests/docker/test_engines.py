"""Reaching engines the way docker CLI users do: tcp:// with --tlsverify, CLI contexts, and an
engine with a bridge network whose published ports answer on 127.0.0.1."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.backends.base import BackendError
from core.backends.docker import DockerBackend
from core.config import ClusterConfig
from tests.docker.helpers import backend_at, context, execute, spec_of
from tests.fixtures.dockerd import TlsEndpoint, bridge_interface, private_dockerd, write_tls_certs
from tests.support import cli, until

pytestmark = pytest.mark.docker


def write_context(config_dir: Path, name: str, host: str, tls_from: Path | None = None) -> None:
    """A docker CLI context as `docker context create NAME --docker host=HOST[,ca=…,cert=…,key=…]` writes it."""
    key = hashlib.sha256(name.encode()).hexdigest()
    meta = config_dir / "contexts" / "meta" / key
    meta.mkdir(parents=True)
    endpoint = {"Host": host, "SkipTLSVerify": False}
    (meta / "meta.json").write_text(json.dumps({"Name": name, "Metadata": {}, "Endpoints": {"docker": endpoint}}))
    if tls_from:
        shutil.copytree(tls_from, config_dir / "contexts" / "tls" / key / "docker")


def test_cli_runs_a_spec_on_an_engine_over_tcp_with_tlsverify(dockerd_tls: TlsEndpoint, config_file, tmp_path):
    config_file.write_text(json.dumps({"clusters": {"secure": {
        "kind": "docker", "host": dockerd_tls.url, "tls_verify": True, "cert_path": str(dockerd_tls.cert_path)}}}))
    spec = tmp_path / "spec.yaml"
    spec.write_text("type: task\nname: over-tls\nimage: test/busybox\ncommands: [echo over tls]\n")
    done = cli("run", str(spec), "--cluster", "secure", "--follow")
    assert (done.returncode, done.stdout.endswith("over tls\n")) == (0, True), done.stdout + done.stderr


def test_the_docker_cli_reaches_a_tls_engine_with_the_backends_flags(dockerd_tls: TlsEndpoint):
    backend = DockerBackend(ClusterConfig(name="secure", kind="docker", host=dockerd_tls.url, tls_verify=True,
                                          cert_path=str(dockerd_tls.cert_path)))
    check = backend.check()
    assert check.reachable, check.message
    done = subprocess.run(["docker", *backend.cli_flags(), "version", "--format", "{{.Server.Version}}"],
                          capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout.strip()) == (0, check.details["server_version"]), done.stderr


def test_an_engine_with_another_ca_is_one_sentence(dockerd_tls: TlsEndpoint, tmp_path):
    _, stranger = write_tls_certs(tmp_path / "other")
    backend = DockerBackend(ClusterConfig(name="secure", kind="docker", host=dockerd_tls.url, tls_verify=True,
                                          cert_path=str(stranger)))
    check = backend.check()
    assert (check.reachable, check.message) == (False, (
        f"the Docker engine at {dockerd_tls.url} and this machine do not trust each other's TLS certificates: "
        "check the cluster's cert_path (ca.pem, cert.pem, key.pem) and tls_verify."))


def test_a_cert_path_without_ca_is_one_sentence(dockerd_tls: TlsEndpoint, tmp_path):
    folder = tmp_path / "certs"
    shutil.copytree(dockerd_tls.cert_path, folder)
    (folder / "ca.pem").unlink()
    backend = DockerBackend(ClusterConfig(name="secure", kind="docker", host=dockerd_tls.url, tls_verify=True,
                                          cert_path=str(folder)))
    assert backend.check().message == (f"{folder} has no ca.pem to verify the Docker engine with: put the engine's "
                                       "CA certificate there, or set tls_verify: false.")


def test_cli_runs_a_spec_through_a_docker_cli_context(dockerd, config_file, tmp_path, monkeypatch):
    config_dir = tmp_path / "docker-config"  # no config.json: `docker context create` alone writes none
    write_context(config_dir, "lab", dockerd)
    monkeypatch.setenv("DOCKER_CONFIG", str(config_dir))
    config_file.write_text("clusters:\n  lab: {kind: docker, context: lab}\n")
    spec = tmp_path / "spec.yaml"
    spec.write_text("type: task\nname: via-context\nimage: test/busybox\ncommands: [echo via context]\n")
    done = cli("run", str(spec), "--cluster", "lab", "--follow")
    assert (done.returncode, done.stdout.endswith("via context\n")) == (0, True), done.stdout + done.stderr
    flags = DockerBackend(ClusterConfig(name="lab", kind="docker", context="lab")).cli_flags()
    version = subprocess.run(["docker", *flags, "version", "--format", "{{.Server.Os}}"],
                             capture_output=True, text=True, timeout=60)
    assert (version.returncode, version.stdout.strip()) == (0, "linux"), version.stderr


def test_a_tls_context_reaches_the_tls_engine(dockerd_tls: TlsEndpoint, tmp_path, monkeypatch):
    config_dir = tmp_path / "docker-config"
    write_context(config_dir, "secure", dockerd_tls.url, tls_from=dockerd_tls.cert_path)
    monkeypatch.setenv("DOCKER_CONFIG", str(config_dir))
    check = DockerBackend(ClusterConfig(name="secure", kind="docker", context="secure")).check()
    assert check.reachable, check.message


def test_an_unknown_context_is_one_sentence(tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker-config"))
    backend = DockerBackend(ClusterConfig(name="lab", kind="docker", context="nowhere"))
    assert backend.check().message == (f"docker context nowhere does not exist in {tmp_path}/docker-config/contexts: "
                                       "create it with `docker context create` or fix `context:` in the config.")
    with pytest.raises(BackendError):
        backend.client()


@pytest.fixture(scope="module")
def bridged_dockerd() -> Iterator[str]:
    """A second engine whose containers sit on a Linux bridge (no iptables: docker-proxy publishes)."""
    with bridge_interface() as bridge, private_dockerd(bridge=bridge) as url:
        yield url


def test_a_published_port_answers_on_127_0_0_1_through_the_bridge(bridged_dockerd, tmp_path):
    backend = backend_at(bridged_dockerd)
    spec = spec_of("""
type: task
image: test/busybox
ports: [8080]
commands:
  - echo served-over-the-bridge > /tmp/index.html
  - httpd -f -p 8080 -h /tmp
""")
    ctx = context(spec, tmp_path, backend)
    backend.prepare(ctx)
    handle = backend.start(ctx)
    try:
        assert handle["network_mode"] == "bridge"
        host, port = backend.port_target(ctx, handle, 8080)
        bindings = backend.client().api.inspect_container(handle["container_id"])["NetworkSettings"]["Ports"]
        assert host == "127.0.0.1" and bindings["8080/tcp"] == [{"HostIp": "127.0.0.1", "HostPort": str(port)}]

        def fetch() -> bytes | None:
            try:
                return urllib.request.urlopen(f"http://{host}:{port}/index.html", timeout=2).read()
            except OSError:
                return None

        assert until(fetch, timeout=30, what="the published port") == b"served-over-the-bridge\n"
    finally:
        backend.stop(ctx, handle, 0)
        backend.cleanup(ctx, handle)


def test_a_run_on_the_bridge_network_has_its_own_address(bridged_dockerd, tmp_path):
    backend = backend_at(bridged_dockerd)
    ctx = context(spec_of("type: task\nimage: test/busybox\ncommands: [ip -4 -o addr show eth0]\n"), tmp_path, backend)
    try:
        info, log, _ = execute(backend, ctx)
    finally:
        backend.cleanup(ctx, None)
    assert info.exit_code == 0 and " eth0 " in log and "inet 10." in log


def test_the_builtin_docker_cluster_follows_the_docker_clis_current_context(dockerd, config_file, tmp_path,
                                                                             monkeypatch):
    """`docker context use lab` (config.json's currentContext) or DOCKER_CONTEXT=lab: the built-in
    `docker` cluster goes where the docker CLI goes; DOCKER_HOST still wins over both."""
    config_dir = tmp_path / "docker-config"
    write_context(config_dir, "lab", dockerd)
    (config_dir / "config.json").write_text(json.dumps({"currentContext": "lab"}))
    monkeypatch.setenv("DOCKER_CONFIG", str(config_dir))
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    monkeypatch.delenv("DOCKER_CONTEXT", raising=False)
    config_file.write_text("clusters: {}\n")
    spec = tmp_path / "spec.yaml"
    spec.write_text("type: task\nname: current-context\nimage: test/busybox\ncommands: [echo via the current context]\n")
    done = cli("run", str(spec), "--cluster", "docker", "--follow")
    assert (done.returncode, done.stdout.endswith("via the current context\n")) == (0, True), done.stdout + done.stderr

    backend = DockerBackend(ClusterConfig(name="docker", kind="docker", builtin=True))
    assert (backend.url, backend.cli_flags()) == ("docker context lab", ["--context", "lab"])
    (config_dir / "config.json").write_text(json.dumps({"currentContext": "default"}))
    monkeypatch.setenv("DOCKER_CONTEXT", "lab")
    assert backend.check().reachable
    monkeypatch.setenv("DOCKER_HOST", "unix:///nowhere.sock")
    assert (backend.url, backend.cli_flags()) == ("unix:///nowhere.sock", [])
