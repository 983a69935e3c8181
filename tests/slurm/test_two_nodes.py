"""A dstack task on two Slurm nodes, submitted from the CLI as a user would."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.slurm.conftest import task
from tests.support import cli

RANK_LINE = "rank=$DSTACK_NODE_RANK node_rank=$NODE_RANK nodes=$DSTACK_NODES_NUM master=$DSTACK_MASTER_NODE_IP " \
            "addr=$MASTER_ADDR:$MASTER_PORT world=$WORLD_SIZE cuda=$CUDA_VISIBLE_DEVICES gpus=$DSTACK_GPUS_NUM " \
            "per_node=$DSTACK_GPUS_PER_NODE host=$SLURMD_NODENAME"


def test_two_ranks_see_the_real_allocation(hpc, tmp_path: Path) -> None:
    spec = task(tmp_path, "pair", [
        f'echo "{RANK_LINE}"',
        'echo "ips=$(echo $DSTACK_NODES_IPS)"',
        "for i in $(seq 200); do echo line-$i-of-rank-$DSTACK_NODE_RANK; done",
    ], nodes=2, resources={"gpu": 1})
    done = cli("run", str(spec), "--cluster", "hpc", "--follow")
    assert done.returncode == 0, done.stderr
    log = cli("logs", "pair").stdout
    ranks = {}
    for rank in (0, 1):
        line = next(l for l in log.splitlines() if l.startswith(f"[rank {rank}] rank="))
        ranks[rank] = dict(kv.split("=", 1) for kv in line.split("] ", 1)[1].split())
        lines = [l for l in log.splitlines() if l.startswith(f"[rank {rank}] line-")]
        assert lines == [f"[rank {rank}] line-{i}-of-rank-{rank}" for i in range(1, 201)]
    assert ranks[0]["rank"] == "0" and ranks[1]["rank"] == "1"
    assert ranks[0]["node_rank"] == "0" and ranks[1]["node_rank"] == "1"
    assert {ranks[0]["host"], ranks[1]["host"]} == {"n1", "n2"}
    for info in ranks.values():
        assert info["nodes"] == "2" and info["world"] == "2"
        assert info["master"] == ranks[0]["master"] == info["addr"].split(":")[0]
        assert info["master"] in ("127.0.0.2", "127.0.0.3")
        assert info["cuda"] == "0"  # one of the node's two GPUs, as Slurm's GRES allocated it
        assert info["gpus"] == "2" and info["per_node"] == "1"
    assert re.search(r"\[rank 0\] ips=127\.0\.0\.[23] 127\.0\.0\.[23]", log)
    record = json.loads(cli("ps", "--all", "--json").stdout)[0]
    assert record["status"] == "succeeded" and record["cluster"] == "hpc"
    provisioning = cli("logs", "pair", "-p").stdout
    assert re.search(r"submitted as Slurm job \d+", provisioning)
    assert "--nodes=2" in provisioning and "--gres=gpu:1" in provisioning


def test_follow_exits_with_the_failing_ranks_code(hpc, tmp_path: Path) -> None:
    spec = task(tmp_path, "broken", [
        'if [ "$DSTACK_NODE_RANK" = 1 ]; then echo rank one fails; exit 3; fi',
        "echo rank zero waits; sleep 60",
    ], nodes=2)
    done = cli("run", str(spec), "--cluster", "hpc", "--follow")
    assert done.returncode == 3, done.stderr
    record = json.loads(cli("ps", "--all", "--json").stdout)[0]
    assert (record["status"], record["exit_code"]) == ("failed", 3)
    assert "[rank 1] rank one fails" in cli("logs", "broken").stdout


def test_dry_run_shows_the_batch_script(hpc, tmp_path: Path) -> None:
    spec = task(tmp_path, "plan", ["echo hi"], nodes=2, resources={"gpu": 2, "cpu": 1}, max_duration="5m")
    done = cli("run", str(spec), "--cluster", "hpc", "--dry-run")
    assert done.returncode == 0, done.stderr
    for line in ("#SBATCH --nodes=2", "#SBATCH --ntasks-per-node=1", "#SBATCH --gres=gpu:2",
                 "#SBATCH --cpus-per-task=1", "#SBATCH --time=6", "#SBATCH --signal=TERM@10", "srun "):
        assert line in done.stdout
    assert hpc.jobs("plan") == []


def test_too_many_gpus_per_node_is_refused_and_nothing_queued(hpc, tmp_path: Path) -> None:
    spec = task(tmp_path, "greedy", ["echo never"], nodes=2, resources={"gpu": 4})
    done = cli("run", str(spec), "--cluster", "hpc")
    assert done.returncode == 1
    assert done.stderr.strip() == "error: needs 4× GPU per node; partition debug has 2 per node."
    assert hpc.jobs("greedy") == []
    assert json.loads(cli("ps", "--all", "--json").stdout) == []


def test_more_nodes_than_the_partition_is_refused(hpc, tmp_path: Path) -> None:
    spec = task(tmp_path, "wide", ["echo never"], nodes=3)
    done = cli("run", str(spec), "--cluster", "hpc")
    assert (done.returncode, done.stderr.strip()) == (1, "error: needs 3 nodes; partition debug has 2.")


def test_multi_node_is_refused_off_slurm_naming_the_slurm_clusters(hpc, tmp_path: Path) -> None:
    spec = task(tmp_path, "pair", ["echo hi"], nodes=2)
    done = cli("run", str(spec))
    assert done.returncode == 1
    assert done.stderr.strip() == ("error: `nodes: 2` needs a Slurm cluster, and cluster local is local: "
                                   "submit it to a Slurm cluster (hpc).")
    assert json.loads(cli("ps", "--all", "--json").stdout) == []


def test_clusters_test_says_what_sinfo_sees(hpc) -> None:
    listed = cli("clusters")
    assert any(line.split() == ["hpc", "slurm", "this", "machine"] for line in listed.stdout.splitlines())
    done = cli("clusters", "test", "hpc")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("hpc: reachable: sinfo answers on this machine: partition debug (default): "
                                  "2 nodes")
    assert "2 CPUs, 4096 MB, 2 GPU per node" in done.stdout


def test_clusters_test_of_a_dead_scheduler_is_one_sentence(slurm, config_file, tmp_path: Path) -> None:
    from tests.slurm.conftest import write_config

    conf = tmp_path / "slurm.conf"
    conf.write_text(slurm.conf.read_text().replace("SlurmctldPort=", "SlurmctldPort=1"))
    write_config(config_file, {"gone": slurm.cluster(slurm_conf=str(conf))})
    done = cli("clusters", "test", "gone", timeout=120)
    assert done.returncode == 1
    assert done.stdout.startswith("gone: unreachable: `sinfo` failed on this machine:")
    assert "Traceback" not in done.stdout + done.stderr


def test_partitions_are_presets(hpc, tmp_path: Path) -> None:
    listed = cli("presets", "--cluster", "hpc")
    assert listed.returncode == 0, listed.stderr
    assert any(line.split() == ["debug", "2", "4096Mi", "2", "hpc"] for line in listed.stdout.splitlines())
    spec = tmp_path / "whole.yaml"
    spec.write_text("name: whole\nimage: python:3.11\nresources: {cluster: hpc, preset: debug}\n"
                    "run:\n  - command: echo \"gpus=$CUDA_VISIBLE_DEVICES partition=$SLURM_JOB_PARTITION\"\n")
    plan = cli("run", str(spec), "--dry-run")
    assert plan.returncode == 0, plan.stderr
    assert "warning: image `python:3.11` does not apply to Slurm cluster hpc" in plan.stderr
    for line in ("#SBATCH --partition=debug", "#SBATCH --gres=gpu:2", "#SBATCH --cpus-per-task=2",
                 "#SBATCH --mem=4096M", "#SBATCH --nodes=1"):
        assert line in plan.stdout
    done = cli("run", str(spec), "--follow")
    assert done.returncode == 0, done.stderr
    assert cli("logs", "whole").stdout == "gpus=0,1 partition=debug\n"
