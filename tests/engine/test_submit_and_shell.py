"""`vessl-tui shell` (and the TUI's `x`, through the same engine call) enters with the run's env
and VESSL_TUI_RUN_ID (a secret stays the run's own); a cluster that cannot be reached fails the submit at once."""

from __future__ import annotations

import json

from tests.engine.helpers import cli
from tests.engine.test_json_output import _write


def test_shell_has_the_runs_env_and_id(tmp_path) -> None:
    import subprocess
    import sys
    import time

    from tests.conftest import REPO

    spec = _write(tmp_path, "sh", "name: shelled\nresources:\n  cluster: local\nenv:\n  LR: \"0.25\"\n"
                                  "  TOKEN: {value: not-for-the-shell, secret: true}\n"
                                  "run:\n  - command: sleep 300\n")
    run_id = cli("run", spec).stdout.split()[-1]
    deadline = time.monotonic() + 60
    while json.loads(cli("show", run_id, "--json").stdout)["status"] != "running":
        assert time.monotonic() < deadline, "the run did not start"
        time.sleep(0.2)
    shell = subprocess.run([sys.executable, "-m", "core.cli.main", "shell", run_id], cwd=REPO, timeout=60,
                           input='echo "LR=$LR ID=$VESSL_TUI_RUN_ID TOKEN=$TOKEN"; exit 3\n', capture_output=True,
                           text=True)
    cli("stop", run_id)
    assert f"LR=0.25 ID={run_id} TOKEN=\n" in shell.stdout and shell.returncode == 3


def test_an_unreachable_cluster_fails_the_submit_with_a_sentence(tmp_path, config_file) -> None:
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config_file.write_text(f"clusters:\n  gone:\n    kind: ssh\n    host: 127.0.0.1\n    port: {port}\n    user: nobody\n")
    spec = _write(tmp_path, "far", "type: task\nname: far\ncommands: [echo hi]\n")
    result = cli("run", spec, "--cluster", "gone")
    assert result.returncode == 1
    assert result.stderr.startswith("error: cluster gone cannot be reached, so nothing was submitted: ")
    assert len(result.stderr.strip().splitlines()) == 1
    assert json.loads(cli("ps", "--all", "--json").stdout) == []
