"""Samplers on this machine and over SSH never raise for a missing GPU or an unreachable host."""

from __future__ import annotations

from core.config import ClusterConfig
from core.metrics import host_gpus, host_stats, local_gpus
from tests.fixtures.sshd import free_port, sshd  # noqa: F401


def test_host_stats_reads_this_machine() -> None:
    stats = host_stats()
    assert 0 <= stats["cpu_percent"] <= 100
    assert 0 < stats["memory_used_gb"] < stats["memory_total_gb"]
    assert stats["cpus"] >= 1
    assert host_stats()["cpu_percent"] is not None


def test_local_gpus_is_a_state_on_any_machine() -> None:
    host = local_gpus()
    assert host.state in ("ok", "no-gpu")
    assert (host.state == "ok") == bool(host.gpus)
    if host.state == "no-gpu":
        assert host.message.startswith("no NVIDIA GPU on this machine")


def test_remote_host_without_nvidia_smi_says_so(sshd) -> None:  # noqa: F811
    cluster = ClusterConfig(name="box", **sshd.cluster())
    host = host_gpus(cluster)
    assert host.state == "no-gpu" and host.message.startswith("no NVIDIA GPU on box")


def test_unreachable_host_is_a_state(sshd) -> None:  # noqa: F811
    cluster = ClusterConfig(name="gone", **sshd.cluster(port=free_port()))
    host = host_gpus(cluster)
    assert host.state == "unreachable" and "cannot reach" in host.message


def test_docker_engine_over_ssh_samples_the_engine_host(sshd) -> None:  # noqa: F811
    cluster = ClusterConfig(name="dk-far", kind="docker", host=f"ssh://{sshd.user}@{sshd.host}:{sshd.port}",
                            identity_file=str(sshd.key), known_hosts=str(sshd.known_hosts))
    host = host_gpus(cluster)  # nvidia-smi over SSH on the engine's host, which has none
    assert (host.state, host.message) == ("no-gpu", "no NVIDIA GPU on dk-far (nvidia-smi is not installed)")


def test_docker_engines_on_this_machine_use_nvml() -> None:
    here = local_gpus()
    for url in ("unix:///var/run/docker.sock", "tcp://127.0.0.1:2375", None):
        host = host_gpus(ClusterConfig(name="dk", kind="docker", host=url))
        assert (host.state, host.message) == (here.state, here.message)


def test_docker_engine_elsewhere_over_tcp_says_how_to_see_its_gpus() -> None:
    host = host_gpus(ClusterConfig(name="dk", kind="docker", host="tcp://10.1.2.3:2376"))
    assert host.state == "error" and "reach it over ssh://" in host.message


def test_cli_lists_docker_engines_over_ssh(sshd, config_file) -> None:  # noqa: F811
    from tests.support import cli

    config_file.write_text(f"clusters:\n  dk-far: {{kind: docker, host: 'ssh://{sshd.user}@{sshd.host}:{sshd.port}', "
                           f"identity_file: '{sshd.key}', known_hosts: '{sshd.known_hosts}'}}\n")
    shown = cli("gpus")
    assert shown.returncode == 0, shown.stderr
    assert "dk-far: no NVIDIA GPU on dk-far (nvidia-smi is not installed)" in shown.stdout
