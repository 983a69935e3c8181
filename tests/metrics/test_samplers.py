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
