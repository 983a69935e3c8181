"""Golden files for the RunSpec -> container translation (pure: no engine involved).

Each case is a spec as a user writes it, loaded by the spec loader; its container kwargs and volume
plan are compared with `golden/<case>.json`. Regenerate after an intended change with
`VESSL_TUI_UPDATE_GOLDEN=1 pytest tests/docker/test_docker_spec.py` and review the diff.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import pytest

from core.backends import docker_spec
from core.spec import load_text

GOLDEN = Path(__file__).parent / "golden"

CASES: dict[str, str] = {
    "dstack_gpu_a100x2": """
type: task
image: nvcr.io/nvidia/pytorch:24.01-py3
commands:
  - pip install -r requirements.txt
  - python train.py
resources:
  gpu: A100:2
  cpu: 8
  memory: 32GB
  shm_size: 16GB
""",
    "dstack_gpu_one": """
type: task
image: python:3.11
commands: [nvidia-smi]
resources:
  gpu: 1
""",
    "dstack_volumes_ports_env": """
type: service
image: python:3.11
env:
  - MODEL=llama
  - HF_TOKEN
port: 8000
commands: [python -m http.server 8000]
volumes:
  - cache:/root/.cache
  - /mnt/models:/models
""",
    "dstack_entrypoint": """
type: task
image: vllm/vllm-openai:latest
entrypoint: python3 -m vllm.entrypoints.openai.api_server
commands: [--model, facebook/opt-125m]
""",
    "dstack_default_resources": """
type: task
image: busybox
shell: bash
commands: [echo hi]
""",
    "vessl_requests_gpu": """
name: finetune
image: quay.io/vessl-ai/torch:2.1.0-cuda12.2-r3
resources:
  requests:
    cpu: "4"
    memory: 16Gi
    nvidia.com/gpu: {device_type: A100, quantity: "2"}
import:
  /code: git://github.com/vessl-ai/examples
export:
  /output: vessl-artifact://
mount:
  /data: hostpath:///mnt/data
  /shared: nfs://10.0.0.5/exports/shared
run:
  - command: |-
      pip install -r requirements.txt
      python main.py
    workdir: /code/mnist
    wait: 10s
  - command: ls /output
""",
}


def translate(text: str) -> dict:
    (document,) = load_text(text, "spec.yaml")
    assert document.spec is not None, [p.format() for p in document.problems]
    spec = document.spec
    plan = docker_spec.volume_plan(spec, "run-1", Path("/work/specs"))
    kwargs = docker_spec.container_kwargs(spec, run_id="run-1", attempt=1, network_mode="bridge", plan=plan)
    return {"container": kwargs, "volumes": dataclasses.asdict(plan)}


@pytest.mark.parametrize("case", sorted(CASES))
def test_container_kwargs_match_golden_file(case: str) -> None:
    got = json.loads(json.dumps(translate(CASES[case]), sort_keys=True))
    path = GOLDEN / f"{case}.json"
    if os.environ.get("VESSL_TUI_UPDATE_GOLDEN"):
        path.write_text(json.dumps(got, indent=2, sort_keys=True) + "\n")
    assert got == json.loads(path.read_text())


def test_gpu_requests_become_nvidia_device_requests() -> None:
    a100 = translate(CASES["dstack_gpu_a100x2"])["container"]["device_requests"]
    one = translate(CASES["dstack_gpu_one"])["container"]["device_requests"]
    vessl = translate(CASES["vessl_requests_gpu"])["container"]["device_requests"]
    assert a100 == vessl == [{"driver": "nvidia", "count": 2, "capabilities": [["gpu"]]}]
    assert one == [{"driver": "nvidia", "count": 1, "capabilities": [["gpu"]]}]


def test_named_gpu_devices_replace_the_count() -> None:
    (document,) = load_text(CASES["dstack_gpu_a100x2"])
    requests = docker_spec.device_requests(document.spec.resources.gpu, ["GPU-aaa", "GPU-bbb", "GPU-ccc"])
    assert requests == [{"driver": "nvidia", "device_ids": ["GPU-aaa", "GPU-bbb"], "capabilities": [["gpu"]]}]


@pytest.mark.parametrize(("placed", "option", "expected"), [
    ([2, 3], ["7"], ["2", "3"]),   # the engine's placement wins over the cluster's devices
    (None, ["7", 8], ["7", "8"]),  # else the cluster's `gpu_devices` option
    (None, None, None),            # else Docker picks `count` devices
])
def test_the_engines_gpu_placement_becomes_the_device_ids(tmp_path, placed, option, expected) -> None:
    from core.backends.base import RunContext
    from core.backends.docker import DockerBackend
    from core.config import ClusterConfig

    cluster = ClusterConfig(name="gpu-box", kind="docker", host="unix:///nowhere.sock",
                            options={"gpu_devices": option} if option else {})
    (document,) = load_text(CASES["dstack_gpu_a100x2"])
    ctx = RunContext(run_id="r", spec=document.spec, cluster=cluster, run_dir=tmp_path, log_path=tmp_path / "log",
                     provision=print, gpu_indices=placed)
    ids = DockerBackend(cluster).gpu_device_ids(ctx)
    assert ids == expected
    count = {"count": 2} if ids is None else {"device_ids": ids}
    assert docker_spec.device_requests(document.spec.resources.gpu, ids) == [
        {"driver": "nvidia", **count, "capabilities": [["gpu"]]}]


def test_no_gpu_request_means_no_device_request() -> None:
    assert "device_requests" not in translate(CASES["dstack_default_resources"])["container"]


def test_unbounded_resources_set_no_limit_and_exact_ones_do() -> None:
    default = translate(CASES["dstack_default_resources"])["container"]
    assert not {"nano_cpus", "mem_limit", "shm_size"} & default.keys()
    exact = translate(CASES["dstack_gpu_a100x2"])["container"]
    assert (exact["nano_cpus"], exact["mem_limit"], exact["shm_size"]) == (8 * 10**9, 32 * 1024**3, 16 * 1024**3)


def test_unsupported_sources_are_named_in_one_sentence() -> None:
    (document,) = load_text("name: x\nimage: y\nimport:\n  /m: volume://storage/gpt2\nrun: [{command: ls}]\n")
    problems = docker_spec.volume_plan(document.spec, "r", cluster="lab").problems
    assert problems == ["import `volume://storage/gpt2` at /m is not supported on cluster lab: imports come from "
                        "git, local paths, s3://, gs://, hf:// or vessl-dataset/model/artifact://."]


def test_secrets_stay_out_of_the_container_config_and_the_image_command_still_runs() -> None:
    document = load_text("type: task\nimage: py\nenv:\n  - PLAIN=1\n", "s.yaml")[0]
    spec = document.spec
    spec.env.append(type(spec.env[0])(name="TOKEN", value="it's\nQXval", secret=True))
    kwargs = docker_spec.container_kwargs(spec, run_id="r", image_config={"Entrypoint": ["serve"], "Cmd": ["--port", "80"]})
    assert kwargs["environment"] == {"PLAIN": "1"}
    assert kwargs["entrypoint"] == ["/bin/sh", "-c", docker_spec.SECRETS_PRELUDE, "vessl-tui"]
    assert kwargs["command"] == ["serve", "--port", "80"]
    assert "QXval" not in repr(kwargs)
    import io
    import tarfile

    with tarfile.open(fileobj=io.BytesIO(docker_spec.secrets_archive(spec))) as tar:
        assert tar.extractfile(f"{docker_spec.SECRETS_DIR}/env").read() == b"TOKEN='it'\"'\"'s\nQXval'\n"
