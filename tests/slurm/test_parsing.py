"""Pure pieces of the Slurm backend: what the client commands print, and the rank-log merge."""

from __future__ import annotations

from core.backends.slurm import parse
from core.backends.slurm.ranklog import RankMerger, consumed_from_log


def test_gres_strings() -> None:
    assert parse.gres_gpus("gpu:2") == 2
    assert parse.gres_gpus("gpu:a100:4(S:0-1)") == 4
    assert parse.gres_gpus("gpu:tesla:1,gpu:a10:1,shard:8") == 2
    assert parse.gres_gpus("(null)") == 0
    assert parse.gres_types("gpu:a100:4(S:0-1),gpu:2") == ["a100"]


def test_sinfo_nodes_and_partitions() -> None:
    text = ("debug*|n1|mixed|2|1/1/0/2|4096|1024|gpu:2|gpu:1(IDX:0)|127.0.0.2|\n"
            "debug*|n2|drained|2|0/2/0/2|4096|0|gpu:2|gpu:0|127.0.0.3|\n"
            "big|n3|idle|64|0/64/0/64|512000|0|gpu:h100:8|gpu:h100:0|n3|\n"
            "garbage line\n")
    nodes = parse.parse_sinfo(text)
    assert [(n.name, n.gpus, n.gpus_used, n.cpus_alloc) for n in nodes] == [("n1", 2, 1, 1), ("n2", 2, 0, 0), ("n3", 8, 0, 0)]
    debug, big = parse.partitions(nodes)
    assert (debug.name, debug.default, debug.usable_nodes, debug.free_nodes) == ("debug", True, 1, 0)
    assert (big.gpus, big.gpu_types, big.cpus, big.memory_mb) == (8, ["h100"], 64, 512000)


def test_job_states_from_squeue_and_sacct() -> None:
    pending = parse.parse_job("12|PENDING|Resources|\n", "12")
    assert pending is not None and pending.pending and pending.reason == "Resources"
    failed = parse.parse_job("12|FAILED|None|n[1-2]|3:0\n12.batch|FAILED||n1|3:0\n", "12")
    assert failed is not None and failed.final and (failed.exit_code, failed.signal) == (3, None)
    cancelled = parse.parse_job("12|CANCELLED by 0|None|n1|0:15\n", "12")
    assert cancelled is not None and cancelled.state == "CANCELLED" and cancelled.signal == 15
    assert parse.parse_job("slurm_load_jobs error: Invalid job id specified\n", "12") is None
    assert parse.parse_job_id("42;cluster\n") == "42" and parse.parse_job_id("error") is None


def test_ranks_merge_by_whole_lines_and_resume_where_the_log_left_off() -> None:
    merger = RankMerger(2)
    assert merger.feed(0, b"a1\na2") == b"[rank 0] a1\n"
    assert merger.feed(1, b"b1\n") == b"[rank 1] b1\n"
    assert merger.read_offset(0) == 5
    assert merger.feed(0, b"-end\n") == b"[rank 0] a2-end\n"
    assert merger.feed(1, b"tail") == b""
    assert merger.flush() == b"[rank 1] tail\n"
    log = b"[rank 0] a1\n[rank 1] b1\n[rank 0] a2-end\n"
    assert consumed_from_log(log, 2) == [10, 3]
    resumed = RankMerger(2, consumed_from_log(log, 2))
    assert resumed.read_offset(0) == len(b"a1\na2-end\n")
    assert consumed_from_log(b"plain\n", 1) == [6]
    single = RankMerger(1)
    assert single.feed(0, b"as written\n") == b"as written\n"


def test_gres_indices_of_running_jobs() -> None:
    text = ("JobId=7 JobName=pair JobState=RUNNING NumNodes=2 Nodes=n[1-2] CPU_IDs=0 Mem=1024 GRES=gpu:1(IDX:0) "
            "Comment=vessl-tui.run=3f2a0c11\n"
            "JobId=8 JobName=wrap JobState=RUNNING Nodes=n3 CPU_IDs=0-1 Mem=0 GRES=gpu:a100:3(IDX:0-1,3) Comment=(null)\n"
            "JobId=9 JobName=later JobState=PENDING Nodes= GRES=\n")
    first, second = parse.parse_gres_jobs(text)
    assert (first.job_id, first.name, first.run_id, first.groups) == ("7", "pair", "3f2a0c11", [("n[1-2]", [0])])
    assert (second.run_id, second.groups) == (None, [("n3", [0, 1, 3])])
