"""Sharing a GPU box: the ledger gives each run its own GPUs, the rest wait in a queue with a reason.

This machine's GPUs are two recorded A100s (tests/metrics/recorded/two_a100.csv) served by the NVML
stand-in (tests/fixtures/fake_nvml.py), selected through the environment that every client and
supervisor inherits. The runs are real processes under real supervisors.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from core.engine import EngineError
from core.gpu_ledger import GpuLedger
from core.supervisor import supervisor_alive
from core.spec.grammar import parse_gpu
from core.spec.runspec import Resources, Retry
from tests.conftest import REPO
from tests.engine.helpers import alive, cli, spec, until, work_gone

RECORDED = REPO / "tests" / "metrics" / "recorded"
UUIDS = ("GPU-5f2c1a3e-8d1b-4c61-9a0e-2b7d6f3c9e11", "GPU-a83d0e77-1c2f-4b9e-8f5a-7e6d4c3b2a10")


@pytest.fixture(autouse=True)
def two_fake_a100s(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VESSL_TUI_NVML_MODULE", "tests.fixtures.fake_nvml")
    monkeypatch.setenv("VESSL_TUI_FAKE_NVML_CSV", str(RECORDED / "two_a100.csv"))


def gpu_run(name: str, flag: Path | None = None, gpu: str = "A100:1", **fields):
    """A run that prints its CUDA_VISIBLE_DEVICES, then (with `flag`) runs until that file exists."""
    wait = f"; while [ ! -e {flag} ]; do sleep 0.05; done" if flag else ""
    return spec(f"echo $CUDA_VISIBLE_DEVICES $CUDA_DEVICE_ORDER{wait}", name=name,
                resources=Resources(gpu=parse_gpu(gpu)), **fields)


def printed(engine, run_id: str) -> str:
    return until(lambda: engine.read_log(run_id)[0].decode(), what=f"run {run_id} to print").split("\n")[0]


def test_runs_get_their_own_gpu_and_a_third_waits_with_the_reason(engine, tmp_path) -> None:
    first, second = tmp_path / "first-done", tmp_path / "second-done"
    a = engine.submit_spec(gpu_run("train-a", first))
    b = engine.submit_spec(gpu_run("eval", second))
    seen = {printed(engine, a.id), printed(engine, b.id)}
    assert seen == {f"{UUIDS[0]} PCI_BUS_ID", f"{UUIDS[1]} PCI_BUS_ID"}

    c = engine.submit_spec(gpu_run("third"))
    holders = [f"{a.id} (train-a)", f"{b.id} (eval)"]
    if printed(engine, b.id).startswith(UUIDS[0]):  # holders are named in the order of their GPUs
        holders.reverse()
    reason = f"waiting for 1 GPU on local: held by run {', '.join(holders)}"
    assert until(lambda: engine.get(c.id).reason, what="the third run's reason") == reason
    assert engine.get(c.id).status == "pending"
    ps = cli("ps")
    assert any(line.startswith(c.id) and " pending " in line and line.endswith(reason) for line in ps.stdout.splitlines())
    plan = engine.plan_spec(gpu_run("fourth"))
    assert any(w.startswith("it would wait: waiting for 1 GPU on local: held by run") and f"ahead in the queue ({c.id})" in w
               for w in plan.warnings)
    held_by_a = {g["uuid"] for g in GpuLedger(engine.store.conn).held(a.id)}

    first.touch()  # the first run ends: its GPU goes to the waiting one
    assert engine.wait(a.id, timeout=60).status == "succeeded"
    assert engine.wait(c.id, timeout=60).status == "succeeded"
    assert printed(engine, c.id) == f"{held_by_a.pop()} PCI_BUS_ID"
    assert engine.get(b.id).status == "running"
    second.touch()
    assert engine.wait(b.id, timeout=60).status == "succeeded"
    assert GpuLedger(engine.store.conn).claims() == [] and GpuLedger(engine.store.conn).queue() == []


def test_a_request_that_can_never_fit_is_refused_at_submit(engine) -> None:
    with pytest.raises(EngineError, match=r"^needs 3× GPU, cluster local has 2× NVIDIA A100-SXM4-80GB\.$"):
        engine.submit_spec(gpu_run("big", gpu="3"))
    assert engine.list_runs() == []


@pytest.mark.parametrize(("gpu", "fits"), [
    ("A100:80GB:2", True),
    ("A100:40GB:1", False),                              # memory per GPU
    ({"total_memory": "160GB", "count": 2}, True),
    ({"total_memory": "100GB..120GB", "count": 1}, False),  # total memory
    ({"vendor": "nvidia", "count": 1}, True),
    ({"vendor": "amd", "count": 1}, False),              # vendor
    ({"compute_capability": "8.0", "count": 1}, True),
    ({"compute_capability": "9.0", "count": 1}, False),  # compute capability (the stand-in reports 8.0)
    ("H100:1", False),                                   # name
])
def test_every_field_of_the_gpu_request_is_matched(engine, gpu, fits) -> None:
    run_spec = spec("true", resources=Resources(gpu=parse_gpu(gpu)))
    if fits:
        assert engine.plan_spec(run_spec).resources["gpu_candidates"] == [0, 1]
    else:
        with pytest.raises(EngineError, match=r"^needs .*, cluster local has 2× NVIDIA A100-SXM4-80GB\.$"):
            engine.plan_spec(run_spec)


def test_a_mig_profile_is_said_to_get_whole_gpus(engine) -> None:
    from core.spec.runspec import GpuSpec, Range

    gpu = GpuSpec(vendor="nvidia", count=Range.exactly(1), mig="1g.10gb")
    plan = engine.plan_spec(spec("true", resources=Resources(gpu=gpu)))
    assert "MIG profile `1g.10gb` is not allocated as a slice here: the run gets whole GPUs" in plan.warnings


def test_stopping_a_holder_starts_the_next_and_stopping_a_waiter_is_immediate(engine, tmp_path) -> None:
    holders = [engine.submit_spec(gpu_run(f"h{i}", tmp_path / "never")) for i in range(2)]
    for record in holders:
        until(lambda: engine.get(record.id).status == "running", what="the holders to run")
    waiter = engine.submit_spec(gpu_run("waiter", tmp_path / "never"))
    gone = engine.submit_spec(gpu_run("gone", tmp_path / "never"))
    until(lambda: engine.get(gone.id).reason, what="the second waiter's reason")
    engine.stop(gone.id)
    assert engine.wait(gone.id, timeout=30).reason == "stopped while waiting for GPUs"
    engine.stop(holders[0].id)
    assert engine.wait(holders[0].id, timeout=60).status == "stopped"
    until(lambda: engine.get(waiter.id).status == "running", what="the waiter to start")
    took = [e.message for e in engine.events(waiter.id) if (e.message or "").startswith("took GPUs ")]
    assert took == [f"took GPUs {GpuLedger(engine.store.conn).held(waiter.id)[0]['uuid']} on local"]


def test_first_submitted_first_served_even_when_a_later_run_would_fit(engine, tmp_path) -> None:
    flags = {name: tmp_path / name for name in ("h0", "h1", "big")}
    holders = [engine.submit_spec(gpu_run(f"h{i}", flags[f"h{i}"])) for i in range(2)]
    for record in holders:
        until(lambda: engine.get(record.id).status == "running", what="the holders to run")
    big = engine.submit_spec(gpu_run("big", flags["big"], gpu="A100:2"))
    small = engine.submit_spec(gpu_run("small"))
    flags["h0"].touch()  # one GPU frees: `small` would fit, but `big` came first
    assert engine.wait(holders[0].id, timeout=60).status == "succeeded"
    reason = until(lambda: (r := engine.get(small.id).reason) and holders[0].id not in r and r, what="a new reason")
    assert reason == f"waiting for 1 GPU on local: held by run {holders[1].id} (h1); 1 run ahead in the queue ({big.id})"
    assert (engine.get(small.id).status, engine.get(big.id).status) == ("pending", "pending")
    flags["h1"].touch()
    until(lambda: engine.get(big.id).status == "running", what="the 2-GPU run to start")
    assert engine.get(small.id).status == "pending"
    flags["big"].touch()
    assert engine.wait(small.id, timeout=60).status == "succeeded"


def test_run_follow_says_why_it_waits_then_streams(engine, tmp_path) -> None:
    holders = [engine.submit_spec(gpu_run(f"h{i}", tmp_path / f"h{i}")) for i in range(2)]
    for record in holders:
        until(lambda: engine.get(record.id).status == "running", what="the holders to run")
    path = tmp_path / "follow.yaml"
    path.write_text("type: task\nname: follower\nresources: {gpu: A100:1}\ncommands: [echo hello]\n")
    follower = subprocess.Popen([sys.executable, "-m", "core.cli.main", "run", str(path), "--follow"], cwd=REPO,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = follower.stderr.readline()
    assert first.startswith("run ") and "(follower) on local" in first
    said = follower.stderr.readline()
    assert said.startswith("waiting for 1 GPU on local: held by run ")
    assert all(f"{h.id} (h{i})" in said for i, h in enumerate(holders))
    (tmp_path / "h0").touch()
    out, err = follower.communicate(timeout=120)
    assert (follower.returncode, out) == (0, "hello\n")


def test_retry_on_no_capacity_bounds_the_wait(engine, tmp_path) -> None:
    holders = [engine.submit_spec(gpu_run(f"h{i}", tmp_path / "never")) for i in range(2)]
    for record in holders:
        until(lambda: engine.get(record.id).status == "running", what="the holders to run")
    bounded = engine.submit_spec(gpu_run("bounded", retry=Retry(on_events=["no-capacity"], duration=1)))
    ended = engine.wait(bounded.id, timeout=30)
    assert ended.status == "failed"
    assert ended.reason.startswith("no capacity: gave up after retry.duration (1s) waiting for 1 GPU on local")
    assert GpuLedger(engine.store.conn).queue() == []


def test_reconcile_releases_a_gpu_only_when_the_work_is_gone(engine, tmp_path) -> None:
    holder = engine.submit_spec(gpu_run("holder", tmp_path / "never", gpu="A100:2"))
    until(lambda: engine.get(holder.id).status == "running", what="the holder to run")
    waiter = engine.submit_spec(gpu_run("waiter", tmp_path / "never"))
    until(lambda: engine.get(waiter.id).reason, what="the waiter's reason")

    first_supervisor = engine.get(holder.id).supervisor_pid
    os.kill(first_supervisor, signal.SIGKILL)
    # dead once the kernel has dropped its lock (its last thread gone), as reconcile judges it
    until(lambda: not supervisor_alive(holder.id, first_supervisor), what="the supervisor to die")
    engine.reconcile()  # the work lives: a new supervisor takes over, the GPUs stay held
    second = until(lambda: (pid := engine.get(holder.id).supervisor_pid) != first_supervisor and pid,
                   what="a new supervisor")
    assert [c["run_id"] for c in GpuLedger(engine.store.conn).claims()] == [holder.id, holder.id]
    assert engine.get(waiter.id).status == "pending"

    handle = engine.get(holder.id).handle
    os.kill(second, signal.SIGKILL)
    until(lambda: not supervisor_alive(holder.id, second), what="the second supervisor to die")
    os.killpg(handle["pgid"], signal.SIGKILL)  # now the work is gone too
    until(lambda: not alive(handle["pid"]) and work_gone(handle), what="the work to die")
    engine.reconcile()
    assert engine.get(holder.id).final
    until(lambda: engine.get(waiter.id).status == "running", what="the waiter to get a GPU")
    assert [c["run_id"] for c in GpuLedger(engine.store.conn).claims()] == [waiter.id]


def test_a_waiter_whose_supervisor_died_leaves_the_queue_at_reconcile(engine, tmp_path) -> None:
    holders = [engine.submit_spec(gpu_run(f"h{i}", tmp_path / f"h{i}")) for i in range(2)]
    for record in holders:
        until(lambda: engine.get(record.id).status == "running", what="the holders to run")
    dead, next_one = engine.submit_spec(gpu_run("dead")), engine.submit_spec(gpu_run("next"))
    until(lambda: engine.get(next_one.id).reason, what="the second waiter's reason")
    pid = until(lambda: engine.get(dead.id).supervisor_pid, what="the first waiter's supervisor")
    os.kill(pid, signal.SIGKILL)
    until(lambda: not supervisor_alive(dead.id, pid), what="the waiter's supervisor to die")
    engine.reconcile()
    assert (engine.get(dead.id).status, engine.get(dead.id).reason) == ("lost", "its supervisor died before the work started")
    assert [w["run_id"] for w in GpuLedger(engine.store.conn).queue()] == [next_one.id]
    (tmp_path / "h0").touch()
    assert engine.wait(next_one.id, timeout=60).status == "succeeded"


def test_twenty_concurrent_submits_share_two_gpus(engine, tmp_path) -> None:
    path = tmp_path / "short.yaml"
    path.write_text("type: task\nname: short\nresources: {gpu: A100:1}\ncommands:\n"
                    "  - echo start $(date +%s.%N) $CUDA_VISIBLE_DEVICES; sleep 0.2; echo end $(date +%s.%N)\n")
    clients = [subprocess.Popen([sys.executable, "-m", "core.cli.main", "run", str(path)], cwd=REPO,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(20)]
    ids = []
    for client in clients:
        out, err = client.communicate(timeout=120)
        assert client.returncode == 0, err
        ids.append(out.split()[-1])
    spans = []
    for run_id in ids:
        record = engine.wait(run_id, timeout=240)
        assert record.status == "succeeded", (record.status, record.reason)
        start, end = engine.read_log(run_id)[0].decode().split("\n")[:2]
        _, started, gpu = start.split()
        spans.append((float(started), float(end.split()[1]), gpu))
    assert {gpu for _, _, gpu in spans} == set(UUIDS)
    for started, ended, gpu in spans:  # at any run's start: at most 2 running, never on the same GPU
        running = [g for s, e, g in spans if s <= started < e]
        assert len(running) <= 2 and len(set(running)) == len(running)
    assert GpuLedger(engine.store.conn).claims() == [] and GpuLedger(engine.store.conn).queue() == []


def test_docker_runs_get_exactly_their_devices_by_uuid(tmp_path) -> None:
    from core.backends.base import RunContext
    from core.backends.docker import DockerBackend
    from core.backends.docker_spec import device_requests
    from core.config import ClusterConfig

    cluster = ClusterConfig(name="gpu-box", kind="docker", host="unix:///nowhere.sock")
    run_spec = spec("nvidia-smi -L", resources=Resources(gpu=parse_gpu("A100:1")))
    ctx = RunContext(run_id="r", spec=run_spec, cluster=cluster, run_dir=tmp_path, log_path=tmp_path / "log",
                     provision=print, gpu_indices=[1], gpu_uuids=[UUIDS[1]])
    ids = DockerBackend(cluster).gpu_device_ids(ctx)
    assert device_requests(run_spec.resources.gpu, ids) == [
        {"driver": "nvidia", "device_ids": [UUIDS[1]], "capabilities": [["gpu"]]}]


def test_clusters_on_one_machine_share_its_ledger() -> None:
    from core.config import ClusterConfig
    from core.gpu_ledger import ledger_host

    assert ledger_host(ClusterConfig(name="local", kind="local")) == "local"
    assert ledger_host(ClusterConfig(name="d", kind="docker", host="unix:///run/docker.sock")) == "local"
    assert ledger_host(ClusterConfig(name="box", kind="ssh", host="gpu-box", port=2222)) == "ssh:gpu-box:2222"
    assert ledger_host(ClusterConfig(name="lab", kind="docker", host="ssh://me@gpu-box:2222")) == "ssh:gpu-box:2222"
    assert ledger_host(ClusterConfig(name="far", kind="docker", host="tcp://10.0.0.5:2376")) == "docker:tcp://10.0.0.5:2376"


def test_a_gpu_never_stays_held_by_a_run_that_is_over(engine, tmp_path) -> None:
    """Whatever path ends a run, its claims stop counting: here a claim written for a run that then
    ended behind the ledger's back (a direct status write) neither shows nor blocks."""
    holder = engine.submit_spec(gpu_run("holder", tmp_path / "never", gpu="A100:2"))
    until(lambda: engine.get(holder.id).status == "running", what="the holder to run")
    engine.store.update_run(holder.id, stop_requested=1)
    with engine.store.conn:  # the end recorded without the ledger (as an older client would)
        engine.store.conn.execute("UPDATE runs SET status = 'failed' WHERE id = ?", (holder.id,))
    assert GpuLedger(engine.store.conn).claims() == []
    after = engine.submit_spec(gpu_run("after"))
    assert engine.wait(after.id, timeout=60).status == "succeeded"
