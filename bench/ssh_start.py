"""Run start on a warm SSH connection vs OpenSSH `ssh host cmd` over a warm ControlMaster.

Starts a private sshd on 127.0.0.1 (tests/fixtures/sshd.py), then times N run starts of
`SshBackend.start` (one exec channel carrying env, scripts and the detached launch) against N
`ssh -S CONTROL host 'setsid nohup sh -c true ...'` through an already open master. Prints the
medians and ours/baseline (target <= 1.0). Usage: python bench/ssh_start.py [N]
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core import sshconn  # noqa: E402
from core.backends.base import RunContext  # noqa: E402
from core.backends.ssh import SshBackend  # noqa: E402
from core.config import ClusterConfig  # noqa: E402
from core.spec.runspec import Command, EnvVar, RunSpec  # noqa: E402
from tests.fixtures.sshd import running_sshd  # noqa: E402


def main(n: int = 20) -> None:
    with running_sshd() as server, tempfile.TemporaryDirectory() as tmp:
        cluster = ClusterConfig(name="bench", **server.cluster())
        backend = SshBackend(cluster)
        spec = RunSpec(kind="vessl-run", name="b", commands=[Command(command="true")],
                       env=[EnvVar(name="A", value="1"), EnvVar(name="S", value="x", secret=True)])
        backend.connection().run("true")  # warm
        control = Path(tmp) / "ctl"
        base = ["ssh", "-p", str(server.port), "-i", str(server.key), "-o", f"UserKnownHostsFile={server.known_hosts}",
                "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-S", str(control)]
        subprocess.run(base + ["-M", "-f", "-N", "-o", "ControlPersist=120", f"root@{server.host}"], check=True)
        work = server.folder / "work" / "baseline"
        ours, theirs = [], []
        for i in range(n):  # alternate, so that load on a shared machine hits both alike
            ctx = RunContext(run_id=f"bench-{i}", spec=spec, cluster=cluster, run_dir=Path(tmp),
                             log_path=Path(tmp) / "log", provision=lambda line: None)
            t = time.perf_counter()
            backend.start(ctx)
            ours.append(time.perf_counter() - t)
            cmd = f"mkdir -p {work}/{i} && cd {work}/{i} && setsid nohup sh -c 'echo $$ > pid; true' </dev/null >/dev/null 2>&1 & echo started"
            t = time.perf_counter()
            subprocess.run(base + [f"root@{server.host}", cmd], check=True, capture_output=True)
            theirs.append(time.perf_counter() - t)
        subprocess.run(base + ["-O", "exit", f"root@{server.host}"], capture_output=True)
        sshconn.close_all()
    a, b = statistics.median(ours), statistics.median(theirs)
    print(f"run start, warm connection: vessl-tui {a * 1000:.1f} ms, ssh+ControlMaster {b * 1000:.1f} ms "
          f"(median of {n}); ratio {a / b:.2f}x (target <= 1.0x)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
