"""`vessl-tui shell RUN` on a Slurm run: a shell inside the job's allocation (srun --overlap --pty)."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

from core.engine import Engine
from tests.conftest import REPO
from tests.slurm.conftest import task
from tests.support import until


def test_shell_opens_inside_the_jobs_allocation(hpc, tmp_path: Path) -> None:
    engine = Engine()
    record = engine.submit(task(tmp_path, "held", ["echo up; sleep 300"], nodes=2), cluster="hpc")
    try:
        running = until(lambda: (r := engine.get(record.id)).handle and "up" in engine.read_log(r.id)[0].decode()
                        and r, what="the job to run", timeout=60)
        master, slave = pty.openpty()
        shell = subprocess.Popen([sys.executable, "-m", "core.cli.main", "shell", record.id], cwd=REPO,
                                 stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
        os.close(slave)
        os.write(master, b'echo "inside=$SLURM_JOB_ID:$(pwd)"; exit 7\n')
        seen = b""
        end = time.monotonic() + 30
        while time.monotonic() < end and b"inside=" + running.handle["job_id"].encode() not in seen:
            if select.select([master], [], [], 0.5)[0]:
                try:
                    seen += os.read(master, 4096)
                except OSError:
                    break
        assert f"inside={running.handle['job_id']}:{engine.home}/runs/{record.id}/work".encode() in seen
        assert shell.wait(timeout=30) == 7
        os.close(master)
    finally:
        engine.stop(record.id)
    assert engine.wait(record.id, timeout=60).status == "stopped"
