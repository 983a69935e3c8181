"""GPU processes named by their run: recorded nvidia-smi output, the real sampler command run by a
real shell against real processes (a stand-in `nvidia-smi` plays the driver), and local processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.metrics import (
    GpuProcess, GpuSample, HostGpus, label_runs, nvidia_smi_command, parse_sampler_output, run_of_pid,
)

RECORDED = Path(__file__).parent / "recorded"
SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]


@pytest.fixture
def processes():
    started: list[subprocess.Popen] = []

    def start(**kwargs) -> subprocess.Popen:
        proc = subprocess.Popen(SLEEPER, **kwargs)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.kill()
        proc.wait()


def test_recorded_output_names_the_run_of_each_process() -> None:
    output = "\n".join([
        (RECORDED / "two_a100.csv").read_text(), "--- vessl-tui compute apps ---",
        (RECORDED / "two_a100_apps.csv").read_text(), "--- vessl-tui sessions ---", " 4121  4100",
        "--- vessl-tui runs ---", "4100 r-train", "5200 r-other",
    ])
    host = parse_sampler_output(output, 0, host="gpu-box")
    assert [(p.pid, p.run_id) for p in host.gpus[0].processes] == [(4121, "r-train")]


def test_sampler_command_maps_a_real_process_through_its_run_folder(tmp_path: Path, processes) -> None:
    run = processes(start_new_session=True)  # like the SSH wrapper: the run's session id is in its pid file
    stranger = processes()
    folder = tmp_path / "root" / "runs" / "r-remote"
    folder.mkdir(parents=True)
    (folder / "pid").write_text(f"{run.pid}\n")
    uuid = "GPU-5f2c1a3e-8d1b-4c61-9a0e-2b7d6f3c9e11"
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    (fake_bin / "nvidia-smi").write_text(
        "#!/bin/sh\ncase \"$1\" in\n"
        f"  --query-gpu=*) cat {RECORDED / 'two_a100.csv'} ;;\n"
        f"  --query-compute-apps=*) echo '{uuid}, {run.pid}, python3, 1000'; echo '{uuid}, {stranger.pid}, python3, 10' ;;\n"
        "esac\n"
    )
    (fake_bin / "nvidia-smi").chmod(0o755)
    env = dict(os.environ, PATH=f"{fake_bin}:{os.environ['PATH']}")
    done = subprocess.run(["sh", "-c", nvidia_smi_command(str(tmp_path / "root"))], capture_output=True, text=True, env=env)
    host = parse_sampler_output(done.stdout + done.stderr, done.returncode, host="box")
    assert host.state == "ok"
    assert [(p.pid, p.run_id) for p in host.gpus[0].processes] == [(run.pid, "r-remote"), (stranger.pid, None)]


def test_local_process_named_by_its_environment_or_its_group(processes) -> None:
    by_env = processes(env=dict(os.environ, VESSL_TUI_RUN_ID="r-env"))
    by_group = processes(start_new_session=True)
    plain = processes()
    assert run_of_pid(by_env.pid) == "r-env"
    assert run_of_pid(by_group.pid) is None
    assert run_of_pid(by_group.pid, {by_group.pid: "r-group"}) == "r-group"
    assert run_of_pid(plain.pid, {by_group.pid: "r-group"}) is None
    host = HostGpus(host="local", gpus=[GpuSample(index=0, name="GPU", processes=[
        GpuProcess(pid=by_env.pid), GpuProcess(pid=by_group.pid), GpuProcess(pid=plain.pid)])])
    label_runs(host, lambda pid: run_of_pid(pid, {by_group.pid: "r-group"}))
    assert [p.run_id for p in host.gpus[0].processes] == ["r-env", "r-group", None]
