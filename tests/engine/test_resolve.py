"""Resources and presets against a cluster's capacity."""

from __future__ import annotations

import pytest

from core.engine import EngineError
from core.spec.grammar import parse_gpu
from core.spec.runspec import Resources
from tests.engine.helpers import spec, until

CONFIG = """
clusters:
  a100-box: {kind: local, gpus: [NVIDIA A100-SXM4-80GB, NVIDIA A100-SXM4-80GB, NVIDIA L4]}
presets:
  two-a100: {cpu: 1, memory: 1GB, gpu: "A100:2"}
  four-h100: {gpu: "H100:4"}
  only-box: {cpu: 1, cluster: a100-box}
"""


def test_gpus_are_picked_and_visible_to_the_run(engine, config_file):
    config_file.write_text(CONFIG)
    run_spec = spec("echo $CUDA_VISIBLE_DEVICES", resources=Resources(gpu=parse_gpu("L4:1")))
    record = engine.submit_spec(run_spec, cluster="a100-box")
    assert record.gpus == "1×L4"
    assert engine.wait(record.id, timeout=60).status == "succeeded"
    assert engine.read_log(record.id)[0] == b"2\n"


def test_presets_resolve_and_misfits_say_what_is_missing(engine, config_file):
    config_file.write_text(CONFIG)
    plan = engine.plan_spec(spec("true", resources=Resources(preset="two-a100")), cluster="a100-box")
    assert (plan.preset, plan.resources["gpu_candidates"]) == ("two-a100", [0, 1])
    with pytest.raises(EngineError, match=r"^needs 4× H100, cluster a100-box has 2× NVIDIA A100-SXM4-80GB, 1× NVIDIA L4\.$"):
        engine.plan_spec(spec("true", resources=Resources(preset="four-h100")), cluster="a100-box")
    with pytest.raises(EngineError, match=r"^needs 2× A100, cluster local has no GPU\.$"):
        engine.plan_spec(spec("true", resources=Resources(preset="two-a100")))
    with pytest.raises(EngineError, match=r"^preset `only-box` belongs to cluster a100-box, not local\.$"):
        engine.plan_spec(spec("true", resources=Resources(preset="only-box")))
    assert engine.list_runs() == []


def test_named_secret_missing_is_one_sentence(engine):
    from core.spec.runspec import EnvVar

    run_spec = spec("true")
    run_spec.env = [EnvVar(name="HF_TOKEN", secret=True, secret_ref="hf")]
    with pytest.raises(EngineError, match=r"secret `hf` \(for HF_TOKEN\) is not defined; add it under `secrets:`"):
        engine.submit_spec(run_spec)


def test_the_placed_gpus_reach_every_backend_through_the_run_context(engine, config_file, tmp_path):
    from core.supervisor import Supervisor

    config_file.write_text(CONFIG)
    flag = tmp_path / "done"
    run_spec = spec(f"while [ ! -e {flag} ]; do sleep 0.05; done", resources=Resources(gpu=parse_gpu("A100:2")))
    record = engine.submit_spec(run_spec, cluster="a100-box")
    until(lambda: engine.get(record.id).status == "running", what="the run to start")
    ctx = Supervisor(record.id, engine.store, {}).context(engine.store.run(record.id, with_spec=True))
    assert (ctx.gpu_indices, ctx.gpu_ids) == ([0, 1], ["0", "1"])  # no UUID known: indices
    flag.touch()
    engine.wait(record.id, timeout=60)
    ctx = Supervisor(record.id, engine.store, {}).context(engine.store.run(record.id, with_spec=True))
    assert ctx.gpu_indices is None  # given back at the end
