"""$VESSL_TUI_METRICS and printed metrics on a real Docker engine, a real SSH host and a real
two-node Slurm: the run's own file is brought back while the run goes, and the log is parsed as it
streams."""

from __future__ import annotations

import json
from pathlib import Path

import docker
import pytest
import yaml

from core.engine import Engine
from tests.fixtures.dockerd import dockerd  # noqa: F401  (the session's real engine)
from tests.fixtures.slurm import slurm  # noqa: F401  (the session's real two-node Slurm)
from tests.fixtures.sshd import sshd  # noqa: F401  (the session's real OpenSSH server)
from tests.support import until

#: Writes one point, waits for a go (a file), writes the next one, and prints a metric line.
SCRIPT = """
echo '{"step": 1, "reward": 0.5}' >> "$VESSL_TUI_METRICS"
echo "step=1 loss=0.9"
while [ ! -e GATE ]; do sleep 0.1; done
echo '{"step": 2, "reward": 0.75}' >> "$VESSL_TUI_METRICS"
echo "step=2 loss=0.4"
"""


def spec_file(tmp_path: Path, gate: str, image: str = "") -> Path:
    body = "\n".join(f"  - {json.dumps(line)}" for line in SCRIPT.replace("GATE", gate).strip().splitlines())
    path = tmp_path / "spec.yaml"
    path.write_text(f"type: task\nname: reporting\n{image}commands:\n{body}\n")
    return path


def reward_points(engine: Engine, run_id: str, settled: bool = False) -> list[tuple[float, float]]:
    reader = engine.curves(run_id, settled=settled)
    reader.poll()
    series = reader.series().get("reward")
    return list(zip(*series.points())) if series else []


def check_live_then_final(engine: Engine, run_id: str, open_gate) -> None:
    until(lambda: reward_points(engine, run_id) == [(1, 0.5)], timeout=90, what="the first point brought back")
    assert engine.get(run_id).status == "running"
    open_gate()
    final = engine.wait(run_id, timeout=90)
    assert final.status == "succeeded", final.reason
    assert reward_points(engine, run_id, settled=True) == [(1, 0.5), (2, 0.75)]
    reader = engine.curves(run_id)
    reader.poll()
    assert reader.series()["loss"].points() == ([1, 2], [0.9, 0.4])
    assert engine.last_metrics(run_id) == {"reward": 0.75, "loss": 0.4}


@pytest.mark.docker
def test_docker_brings_the_metrics_file_back_while_the_run_goes(dockerd, config_file, tmp_path):  # noqa: F811
    config_file.write_text(f"clusters:\n  dk: {{kind: docker, host: '{dockerd}'}}\n")
    engine = Engine()
    record = engine.submit(str(spec_file(tmp_path, "/tmp/go", "image: test/busybox\n")), cluster="dk")
    try:
        def open_gate() -> None:
            client = docker.DockerClient(base_url=dockerd)
            try:
                container = client.containers.get(engine.get(record.id).handle["container_id"])
                container.exec_run(["touch", "/tmp/go"])
            finally:
                client.close()

        check_live_then_final(engine, record.id, open_gate)
    finally:
        if not engine.get(record.id).final:
            engine.stop(record.id)


@pytest.mark.ssh
def test_ssh_brings_the_metrics_file_back_while_the_run_goes(sshd, config_file, tmp_path):  # noqa: F811
    fields = ", ".join(f"{k}: '{v}'" if isinstance(v, str) else f"{k}: {v}" for k, v in sshd.cluster().items())
    config_file.write_text(f"clusters:\n  box: {{{fields}}}\n")
    gate = tmp_path / "go"  # the SSH host is this machine: the run sees the test's folder
    engine = Engine()
    record = engine.submit(str(spec_file(tmp_path, str(gate))), cluster="box")
    try:
        check_live_then_final(engine, record.id, gate.touch)
    finally:
        if not engine.get(record.id).final:
            engine.stop(record.id)


def test_slurm_ranks_write_one_metrics_file_brought_back(slurm, config_file, tmp_path):  # noqa: F811
    config_file.write_text(yaml.safe_dump({"clusters": {"hpc": slurm.cluster()}}))
    spec = tmp_path / "ranks.dstack.yml"
    spec.write_text(yaml.safe_dump({"type": "task", "name": "ranks", "nodes": 2, "commands": [
        'echo "{\\"step\\": $((DSTACK_NODE_RANK + 1)), \\"rank_reward\\": $DSTACK_NODE_RANK.5}" >> "$VESSL_TUI_METRICS"',
        'if [ "$DSTACK_NODE_RANK" = 0 ]; then echo "step=7 loss=0.25"; fi',
    ]}))
    engine = Engine()
    record = engine.submit(str(spec), cluster="hpc")
    final = engine.wait(record.id, timeout=120)
    assert final.status == "succeeded", final.reason
    reader = engine.curves(record.id, settled=True)
    reader.poll()
    found = reader.series()
    assert sorted(zip(*found["rank_reward"].points())) == [(1, 0.5), (2, 1.5)]
    assert found["loss"].points() == ([7], [0.25])
