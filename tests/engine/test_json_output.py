"""`--json` on every acting command: one JSON document in the documented shape (README: JSON output)."""

from __future__ import annotations

import json

from tests.engine.helpers import cli
from tests.support import until


def _write(tmp_path, name: str, text: str):
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    return str(path)


def test_run_stop_rerun_logs_rm_as_json(tmp_path) -> None:
    spec = _write(tmp_path, "j", "type: task\nname: jsoned\ncommands: ['echo one; echo two; sleep 300']\n")
    plan = json.loads(cli("run", spec, "--dry-run", "--json").stdout)
    assert plan["name"] == "jsoned" and plan["cluster"] == "local" and plan["commands"]
    run = json.loads(cli("run", spec, "--json").stdout)
    assert run["name"] == "jsoned" and run["status"] in ("pending", "provisioning", "running")
    assert set(run) == set(json.loads(cli("ps", "--json").stdout)[0])  # the shape of ps --json items
    # `run` returns once the run is submitted; a stop before its work starts ends it with no exit code
    until(lambda: "two" in cli("logs", run["id"]).stdout, what="the run's second line")
    stopped = json.loads(cli("stop", run["id"], "--json").stdout)
    assert [r["status"] for r in stopped] == ["stopped"] and stopped[0]["exit_code"] == 143
    lines = [json.loads(line) for line in cli("logs", run["id"], "--json").stdout.splitlines()]
    assert lines[:2] == [{"run": run["id"], "stream": "output", "line": "one"},
                         {"run": run["id"], "stream": "output", "line": "two"}]
    again = json.loads(cli("rerun", run["id"], "--json").stdout)
    assert again["name"] == "jsoned" and again["id"] != run["id"]
    cli("stop", again["id"])
    removed = json.loads(cli("rm", run["id"], again["id"], "--json").stdout)
    assert removed == [{"id": run["id"], "name": "jsoned", "removed": True},
                       {"id": again["id"], "name": "jsoned", "removed": True}]


def test_clusters_test_as_json() -> None:
    result = cli("clusters", "test", "local", "--json")
    check = json.loads(result.stdout)
    assert result.returncode == 0 and check["cluster"] == "local" and check["reachable"] is True
    assert check["capacity"]["cpus"] >= 1


def test_revision_actions_as_json_and_quiet_on_a_closed_pipe(tmp_path) -> None:
    import subprocess
    import sys

    from tests.conftest import REPO

    spec = _write(tmp_path, "svc", "name: echo\nmessage: one\nresources:\n  cluster: local\n"
                                   "run:\n  - command: python3 -m http.server $PORT\n"
                                   "ports:\n  - name: http\n    type: http\n    port: 8000\nservice:\n  expose: 8000\n")
    created = json.loads(cli("revision", "create", spec, "--json").stdout)
    listed = json.loads(cli("revision", "list", "--json").stdout)
    assert created == listed[0] and created["service"] == "echo" and created["number"] == 1
    again = json.loads(cli("revision", "reproduce", "1", "--json").stdout)
    assert again["number"] == 2 and set(again) == set(created)
    deleted = json.loads(cli("revision", "delete", "2", "--json").stdout)
    assert deleted["number"] == 2
    shown = subprocess.run(f"{sys.executable} -m core.cli.main revision show 1 | head -c 5", shell=True, cwd=REPO,
                           capture_output=True, text=True, timeout=60)
    assert shown.stderr == ""

