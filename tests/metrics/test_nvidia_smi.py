"""nvidia-smi output parsed into the same samples as NVML: recorded outputs of real GPU hosts."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.metrics import NVIDIA_SMI_COMMAND, parse_nvidia_smi, parse_sampler_output

RECORDED = Path(__file__).parent / "recorded"


def recorded(name: str) -> str:
    return (RECORDED / name).read_text()


def test_two_gpus_with_a_process() -> None:
    host = parse_nvidia_smi(recorded("two_a100.csv"), recorded("two_a100_apps.csv"), host="gpu-box")
    assert host.state == "ok" and host.host == "gpu-box"
    first, second = host.gpus
    assert (first.index, first.name, first.utilization) == (0, "NVIDIA A100-SXM4-80GB", 97.0)
    assert (first.memory_used_mb, first.memory_total_mb, first.temperature_c, first.power_w) == (72514, 81920, 68, 312.45)
    assert first.uuid == "GPU-5f2c1a3e-8d1b-4c61-9a0e-2b7d6f3c9e11" and not first.mig
    assert [(p.pid, p.name, p.used_memory_mb) for p in first.processes] == [(4121, "/usr/bin/python3", 72500)]
    assert second.processes == [] and second.utilization == 0


def test_na_and_not_supported_fields_are_none() -> None:
    host = parse_nvidia_smi(recorded("na_fields.csv"))
    rtx, t4 = host.gpus
    assert rtx.utilization is None and rtx.power_w is None and rtx.memory_used_mb == 1024 and not rtx.mig
    assert t4.memory_used_mb is None and t4.temperature_c is None and t4.power_w == 27.81


def test_the_classic_seven_columns_parse_without_uuid() -> None:
    host = parse_nvidia_smi(recorded("classic_seven.csv"))
    assert [g.index for g in host.gpus] == [0, 1, 2, 3]
    assert host.gpus[3].utilization == 100 and host.gpus[0].uuid is None


def test_mig_gpus_are_marked_and_keep_their_processes() -> None:
    host = parse_nvidia_smi(recorded("mig.csv"), recorded("mig_apps.csv"))
    mig, plain = host.gpus
    assert mig.mig and mig.utilization is None and not plain.mig
    assert [(p.pid, p.used_memory_mb) for p in mig.processes] == [(991, None)]
    assert [p.name for p in plain.processes] == ["trainer"]


@pytest.mark.parametrize("name", ["no_devices.txt", "no_driver.txt"])
def test_no_gpu_is_a_state_not_an_error(name: str) -> None:
    host = parse_nvidia_smi(recorded(name), host="cpu-box")
    assert host.state == "no-gpu" and host.gpus == []
    assert host.message == "no NVIDIA GPU on cpu-box"


def test_missing_nvidia_smi_and_garbage() -> None:
    absent = parse_sampler_output("sh: 1: nvidia-smi: not found\n", 127, host="cpu-box")
    assert absent.state == "no-gpu" and "not installed" in absent.message
    garbage = parse_nvidia_smi("Segmentation fault\n", host="odd")
    assert garbage.state == "error" and garbage.message == "nvidia-smi on odd said: Segmentation fault"


def test_sampler_output_splits_gpus_from_apps() -> None:
    output = recorded("two_a100.csv") + "--- vessl-tui compute apps ---\n" + recorded("two_a100_apps.csv")
    host = parse_sampler_output(output, 0, host="gpu-box")
    assert len(host.gpus) == 2 and host.gpus[0].processes[0].pid == 4121
    assert "--query-gpu=index,name,utilization.gpu,memory.used,memory.total,temperature.gpu,power.draw" in NVIDIA_SMI_COMMAND
