"""A full disk under VESSL_TUI_HOME (a 2 MB tmpfs filled by a run's own flood): the run is failed
with the reason and keeps every line it wrote; read-only commands still work; writers say so in
one sentence; nothing is marked lost."""

from __future__ import annotations

import errno
import json
import os
import re

from core.engine import Engine
from tests.support import cli, until

FLOOD = "for i in $(seq 1 200000); do echo line $i xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; done"
SENTENCE = re.compile(r"no space left on device in VESSL_TUI_HOME \(")


def fill(path) -> None:
    """Write zeros into `path` until the file system says it is full."""
    with open(path, "wb", buffering=0) as fh:
        try:
            while True:
                fh.write(b"\0" * 4096)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC


def test_flood_fills_a_small_home(tmpfs_home, tmp_path, fault):
    report = fault("2 MB tmpfs home filled by a flood")
    spec_file = tmp_path / "flood.yaml"
    spec_file.write_text(f"type: task\nname: flood\ncommands:\n  - {FLOOD}\n")
    submitted = cli("run", str(spec_file))
    assert submitted.returncode == 0, submitted.stderr
    run_id = submitted.stdout.split()[-1]
    engine = Engine()
    final = engine.wait(run_id, timeout=60)
    report.tried += 1
    if final.status != "failed" or not SENTENCE.match(final.reason or ""):
        report.failed += 1
        report.notes.append(f"run ended {final.status}: {final.reason}; provisioning log: "
                            f"{engine.read_log(run_id, provisioning=True)[0][-1500:].decode(errors='replace')}")
    log = engine.read_log(run_id)[0].decode()
    numbers = [int(m) for m in re.findall(r"^line (\d+) x{52}$", log, re.M)]
    report.lost += len(numbers) == 0 or numbers != list(range(1, len(numbers) + 1))  # a gap: a lost line
    report.notes.append(f"{len(numbers)} whole lines kept")

    fill(tmpfs_home / "filler")  # and full it stays, for the commands below
    for args in (["ps"], ["ps", "--all", "--json"], ["logs", run_id], ["logs", run_id, "-p"], ["show", run_id]):
        report.tried += 1
        done = cli(*args, timeout=60)
        report.check_text(done.stderr, " ".join(args))
        if done.returncode != 0:
            report.failed += 1
            report.notes.append(f"{' '.join(args)}: exit {done.returncode}: {done.stderr.strip()[-300:]}")
    listed = json.loads(cli("ps", "--all", "--json").stdout)
    report.lost += sum(1 for r in listed if r["status"] == "lost")
    for args in (["run", str(spec_file)], ["rerun", run_id]):
        report.tried += 1
        done = cli(*args, timeout=60)
        report.check_text(done.stderr, " ".join(args))
        said = done.stderr.strip().splitlines()
        if done.returncode == 0 or len(said) != 1 or not SENTENCE.search(said[0]):
            report.failed += 1
            report.notes.append(f"{' '.join(args)}: exit {done.returncode}: {done.stderr.strip()[-300:]}")
    report.tried += 1
    removed = cli("rm", run_id)  # how a user makes room: works on the full disk
    report.failed += removed.returncode != 0
    report.check_text(removed.stderr, "rm")
    os.unlink(tmpfs_home / "filler")
    report.assert_clean()


def test_a_run_going_on_while_the_disk_is_full_is_not_marked_lost(tmpfs_home, tmp_path, fault):
    report = fault("full disk under a running run")
    engine = Engine()
    spec_file = tmp_path / "calm.yaml"
    spec_file.write_text("type: task\nname: calm\ncommands:\n  - while [ ! -f go ]; do sleep 0.1; done\n")
    run_id = cli("run", str(spec_file)).stdout.split()[-1]
    record = until(lambda: (r := engine.get(run_id)).status == "running" and r.handle and r, what="running")
    fill(tmpfs_home / "filler")
    for _ in range(3):
        report.tried += 1
        shown = cli("ps", timeout=60)
        report.check_text(shown.stderr, "ps")
        report.failed += shown.returncode != 0 or f"{run_id}  calm" not in shown.stdout
    os.unlink(tmpfs_home / "filler")
    open(os.path.join(record.handle["work_dir"], "go"), "w").close()
    final = engine.wait(run_id, timeout=60)
    report.lost += final.status == "lost"
    report.notes.append(f"{final.status}: {final.reason}")
    report.assert_clean()
