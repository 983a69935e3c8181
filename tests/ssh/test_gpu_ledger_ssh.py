"""GPUs of an SSH host are allocated like this machine's: each run on the host sees only its own
(CUDA_VISIBLE_DEVICES in the remote process's environment), the next waits with the reason. The
host's GPUs are the cluster's `gpus:` override (no nvidia-smi on this sshd)."""

from __future__ import annotations

import pytest

from core.engine import Engine
from core.gpu_ledger import GpuLedger
from core.spec.grammar import parse_gpu
from core.spec.runspec import Resources
from tests.engine.helpers import spec
from tests.ssh.test_engine_ssh import write_config
from tests.support import until

pytestmark = pytest.mark.ssh


def test_runs_on_an_ssh_host_see_only_their_own_gpu(sshd, config_file, tmp_path) -> None:
    write_config(config_file, sshd, gpus=["NVIDIA A100-SXM4-80GB", "NVIDIA A100-SXM4-80GB"])
    engine = Engine()
    flag = tmp_path / "done"  # on this machine, which is also the SSH host

    def run(name: str):
        command = f"echo $CUDA_VISIBLE_DEVICES $CUDA_DEVICE_ORDER; while [ ! -e {flag} ]; do sleep 0.05; done"
        return engine.submit_spec(spec(command, name=name, resources=Resources(gpu=parse_gpu("A100:1"))), cluster="box")

    first, second = run("first"), run("second")
    seen = {until(lambda r=r: engine.read_log(r.id)[0], timeout=60, what="the run's output") for r in (first, second)}
    assert seen == {b"0 PCI_BUS_ID\n", b"1 PCI_BUS_ID\n"}
    third = run("third")
    reason = until(lambda: engine.get(third.id).reason, timeout=60, what="the third run's reason")
    assert reason.startswith("waiting for 1 GPU on box: held by run ") and engine.get(third.id).status == "pending"
    assert {c["host"] for c in GpuLedger(engine.store.conn).claims()} == {f"ssh:{sshd.host}:{sshd.port}"}
    flag.touch()
    for record in (first, second, third):
        assert engine.wait(record.id, timeout=120).status == "succeeded"
    assert engine.read_log(third.id)[0].split()[1] == b"PCI_BUS_ID"
