"""The autoscaler's `gpu` metric reads the replicas' own GPUs (the ones the ledger gave their runs),
not the machine's average: on two recorded A100s at 97% and 0%, a replica on the idle one reads 0%."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from core.serve.autoscaler import ScalePolicy
from core.serve.keeper import EngineLauncher, Keeper, ReplicaState
from core.serve.models import Replica
from tests.engine.test_gpu_sharing import RECORDED, UUIDS, gpu_run, printed
from tests.support import until


@pytest.fixture
def engine(monkeypatch):
    from core.engine import Engine

    monkeypatch.setenv("VESSL_TUI_NVML_MODULE", "tests.fixtures.fake_nvml")
    monkeypatch.setenv("VESSL_TUI_FAKE_NVML_CSV", str(RECORDED / "two_a100.csv"))
    eng = Engine()
    yield eng
    for record in eng.list_runs(include_finished=False):
        eng.stop(record.id)
        eng.wait(record.id, timeout=30)


def test_the_gpu_metric_is_the_replicas_own_gpus(engine, tmp_path) -> None:
    runs = [engine.submit_spec(gpu_run(f"replica-{i}", tmp_path / "never")) for i in range(2)]
    on_busy, on_idle = sorted(runs, key=lambda r: printed(engine, r.id) != f"{UUIDS[0]} PCI_BUS_ID")
    keeper = Keeper("web", launcher=EngineLauncher())
    policy = ScalePolicy(min=1, max=4, metric="gpu", target=50)

    def reading(*replicas) -> float | None:
        keeper.replicas = {(1, i): ReplicaState(Replica("web", 1, i, "ready", run_id=r.id)) for i, r in enumerate(replicas)}
        return keeper._reading(SimpleNamespace(number=1), policy)

    assert reading(on_idle) == 0.0  # the machine's average would be 48.5
    assert reading(on_busy) == 97.0
    assert reading(on_busy, on_idle) == 48.5
    engine.stop(on_idle.id)
    until(lambda: engine.get(on_idle.id).final, what="the replica to stop")
    assert reading(on_idle) is None  # its GPU was given back: no reading rather than another run's
