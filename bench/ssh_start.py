"""SSH run start -> done, as a user waits for it: the whole `vessl-tui run --follow` process of a
one-command run on an SSH cluster, against the whole `ssh host cmd` process through an already open
OpenSSH ControlMaster (the fastest a plain ssh gets), rounds interleaved.

Starts a private sshd on 127.0.0.1 (tests/fixtures/sshd.py). Also printed: the CPU time of our
client process, and `SshBackend.start` alone in this process on a warm connection (the launch
without the client, the supervisor or the wait for the end).

Usage: python bench/ssh_start.py [--rounds N]          Target: ratio <= 1.5x.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import REPO, process_times, report_spread, spread

from core import sshconn  # noqa: E402
from core.backends.base import RunContext  # noqa: E402
from core.backends.ssh import SshBackend  # noqa: E402
from core.config import ClusterConfig  # noqa: E402
from core.spec.runspec import Command, RunSpec  # noqa: E402
from tests.fixtures.sshd import running_sshd  # noqa: E402

SCRIPT = shutil.which("vessl-tui", path=str(REPO / ".venv" / "bin"))
CLIENT = [SCRIPT] if SCRIPT else [sys.executable, "-m", "core.cli.main"]


def backend_start(cluster: ClusterConfig, tmp: Path, i: int) -> float:
    backend = SshBackend(cluster)
    backend.connection().run("true")  # warm
    spec = RunSpec(kind="vessl-run", name="b", commands=[Command(command="true")])
    ctx = RunContext(run_id=f"bench-{i}", spec=spec, cluster=cluster, run_dir=tmp, log_path=tmp / "log",
                     provision=lambda line: None)
    t = time.perf_counter()
    backend.start(ctx)
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    with running_sshd() as server, tempfile.TemporaryDirectory(prefix="vt-ssh-") as tmp_name:
        tmp = Path(tmp_name)
        os.environ["VESSL_TUI_HOME"] = str(tmp / "home")
        os.environ["VESSL_TUI_CONFIG"] = str(tmp / "config.yaml")
        (tmp / "config.yaml").write_text(json.dumps({"clusters": {"bench": server.cluster("bench")}}))
        spec = tmp / "start.yaml"
        spec.write_text("type: task\nname: ssh-start\ncommands: ['echo done']\n")
        control = tmp / "ctl"
        base = ["ssh", "-p", str(server.port), "-i", str(server.key), "-o", f"UserKnownHostsFile={server.known_hosts}",
                "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-S", str(control)]
        subprocess.run(base + ["-M", "-f", "-N", "-o", "ControlPersist=300", f"root@{server.host}"], check=True)
        ours_argv = [*CLIENT, "run", str(spec), "-c", "bench", "--follow"]
        theirs_argv = base + [f"root@{server.host}", "echo done"]
        process_times(ours_argv, stdout=subprocess.DEVNULL), process_times(theirs_argv, stdout=subprocess.DEVNULL)
        time.sleep(2)  # the supervisor server started by the first run imports before it serves
        mine, theirs, inner = [], [], []
        for i in range(args.rounds):  # alternate, so that load on a shared machine hits both alike
            mine.append(process_times(ours_argv, stdout=subprocess.DEVNULL))
            theirs.append(process_times(theirs_argv, stdout=subprocess.DEVNULL))
            inner.append(backend_start(ClusterConfig(name="bench", **server.cluster()), tmp, i))
        subprocess.run(base + ["-O", "exit", f"root@{server.host}"], capture_output=True)
        sshconn.close_all()
    report_spread("SSH run start -> done, whole processes", [m[0] for m in mine], [t[0] for t in theirs],
                  "ssh + warm ControlMaster", "<= 1.5x")
    print(f"  CPU of the vessl-tui client process: {spread([m[1] for m in mine])}; of the ssh process: "
          f"{spread([t[1] for t in theirs])}")
    report_spread("  SshBackend.start alone, in-process, warm connection", inner, [t[0] for t in theirs],
                  "ssh + warm ControlMaster")


if __name__ == "__main__":
    main()
