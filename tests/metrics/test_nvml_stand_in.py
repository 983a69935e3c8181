"""NVML on this machine and nvidia-smi over SSH give the same samples of the same GPUs: the NVML
path (`local_gpus`) reads the stand-in serving the recorded nvidia-smi output (tests/fixtures/fake_nvml.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.metrics import local_gpus, parse_nvidia_smi

RECORDED = Path(__file__).parent / "recorded"


@pytest.mark.parametrize("name", ["two_a100.csv", "mig.csv", "classic_seven.csv"])
def test_nvml_and_nvidia_smi_agree(monkeypatch, name) -> None:
    monkeypatch.setenv("VESSL_TUI_NVML_MODULE", "tests.fixtures.fake_nvml")
    monkeypatch.setenv("VESSL_TUI_FAKE_NVML_CSV", str(RECORDED / name))
    nvml, smi = local_gpus(), parse_nvidia_smi((RECORDED / name).read_text())
    fields = ("index", "name", "utilization", "memory_used_mb", "memory_total_mb", "temperature_c", "power_w", "uuid", "mig")
    assert [[getattr(g, f) for f in fields] for g in nvml.gpus] == [[getattr(g, f) for f in fields] for g in smi.gpus]
    assert all(g.compute_capability == (8, 0) for g in nvml.gpus)


def test_memory_the_driver_reserves_is_not_counted_as_used(monkeypatch) -> None:
    """NVML's v1 memory info counts reserved memory as used (an idle H200 read 615 MiB used where
    nvidia-smi said 0): the sampler asks for v2, which counts it apart, as nvidia-smi does."""
    monkeypatch.setenv("VESSL_TUI_NVML_MODULE", "tests.fixtures.fake_nvml")
    monkeypatch.setenv("VESSL_TUI_FAKE_NVML_CSV", str(RECORDED / "two_a100.csv"))
    assert [g.memory_used_mb for g in local_gpus().gpus] == [72514, 4]
