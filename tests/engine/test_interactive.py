"""Interactive runs with nothing to run (a dstack dev-environment, a VESSL `interactive` run with an
empty `run`): what validate calls ok, run runs; they stay up until stopped or max_duration, and the
plan says so."""

from __future__ import annotations

import json
import time

from tests.engine.helpers import cli
from tests.engine.test_json_output import _write

DEV = "type: dev-environment\nname: devbox\nide: vscode\n"
INTERACTIVE = ("name: notebook\nresources:\n  cluster: local\ninteractive:\n  max_runtime: 2s\n"
               "  jupyter:\n    idle_timeout: 30m\nrun: []\n")


def _status(run_id: str) -> str:
    return json.loads(cli("show", run_id, "--json").stdout)["status"]


def test_a_dev_environment_validates_runs_and_stays_up_until_stopped(tmp_path) -> None:
    spec = _write(tmp_path, "dev", DEV)
    assert cli("validate", spec).returncode == 0
    plan = json.loads(cli("run", spec, "--dry-run", "--json").stdout)
    assert any("stays up until stopped" in w and "vessl-tui shell" in w for w in plan["warnings"])
    run = json.loads(cli("run", spec, "--json").stdout)
    deadline = time.monotonic() + 60
    while _status(run["id"]) != "running":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    time.sleep(2)
    assert _status(run["id"]) == "running"  # nothing to run, and still up
    assert json.loads(cli("stop", run["id"], "--json").stdout)[0]["status"] == "stopped"


def test_an_interactive_vessl_run_ends_at_its_max_runtime_and_says_where_jupyter_is_missing(tmp_path) -> None:
    spec = _write(tmp_path, "nb", INTERACTIVE)
    plan = cli("run", spec, "--dry-run")
    assert "max_duration (2s)" in plan.stderr
    run_id = cli("run", spec).stdout.split()[-1]
    deadline = time.monotonic() + 60
    while _status(run_id) not in ("terminated", "failed", "succeeded", "stopped"):
        assert time.monotonic() < deadline
        time.sleep(0.3)
    shown = json.loads(cli("show", run_id, "--json").stdout)
    assert shown["status"] == "terminated" and "max_duration" in shown["reason"]
    assert "jupyter is not installed here: the run has no notebook" in cli("logs", run_id).stdout


def test_a_dev_environment_ends_after_its_inactivity_duration_without_a_shell(tmp_path) -> None:
    import subprocess
    import sys

    from tests.conftest import REPO

    spec = _write(tmp_path, "idle", DEV + "inactivity_duration: 10s\n")
    plan = json.loads(cli("run", spec, "--dry-run", "--json").stdout)
    assert any("no shell has been in it for 10s (inactivity_duration)" in w for w in plan["warnings"])
    run_id = cli("run", spec).stdout.split()[-1]
    deadline = time.monotonic() + 60
    while _status(run_id) != "running":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    shell = subprocess.Popen([sys.executable, "-m", "core.cli.main", "shell", run_id], cwd=REPO,
                             stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(25)  # more than the inactivity_duration, with a shell in it
        assert _status(run_id) == "running"
    finally:
        shell.stdin.close()  # the shell ends: nobody is in the environment any more
        shell.wait(timeout=30)
    deadline = time.monotonic() + 60
    while _status(run_id) == "running":
        assert time.monotonic() < deadline, "the idle environment did not end"
        time.sleep(0.5)
    assert "no shell for 10s (inactivity_duration): the environment ends" in cli("logs", run_id).stdout
