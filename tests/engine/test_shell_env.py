"""`vessl-tui shell` (and the TUI's `x`, through the same engine call) enters with the run's env
and VESSL_TUI_RUN_ID; a secret stays the run's own."""

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
