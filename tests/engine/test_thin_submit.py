"""`vessl-tui run` as a thin client: with a supervisor server up, the server validates and submits,
and the client imports neither pydantic, PyYAML, paramiko nor the docker SDK — with the same
output, problems, refusals and secrets as a submit done in the client."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core import supervisor_server
from tests.engine.helpers import spec, until
from tests.engine.test_supervisor_server import server_pid

pytestmark = pytest.mark.skipif(not supervisor_server.enabled(), reason="the supervisor server needs Linux")

HEAVY = ("pydantic", "yaml", "paramiko", "docker")


def run_cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> tuple[subprocess.CompletedProcess, list[str]]:
    """`vessl-tui ARGS` in a process of its own; its result and the heavy modules it imported."""
    code = (
        "import atexit, sys\n"
        f"atexit.register(lambda: print('MODULES', sorted(n for n in sys.modules if n.split('.')[0] in {HEAVY!r}),"
        " file=sys.stderr))\n"
        f"sys.argv = ['vessl-tui', *{list(args)!r}]\n"
        "from tui.launch import main\n"
        "main()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})})
    lines = done.stderr.splitlines()
    modules = [line for line in lines if line.startswith("MODULES ")]
    done.stderr = "\n".join(line for line in lines if not line.startswith("MODULES ")) + "\n"
    return done, eval(modules[-1].split(" ", 1)[1]) if modules else ["(no report)"]  # noqa: S307


@pytest.fixture
def served(engine):
    """The engine, with the supervisor server listening (the first plain supervisor starts it)."""
    if server_pid(engine) is None:
        engine.wait(engine.submit_spec(spec("true")).id, timeout=60)
        until(lambda: server_pid(engine), what="the supervisor server")
    return engine


def test_run_follow_with_a_server_up_imports_no_spec_or_backend_library(served, tmp_path):
    (tmp_path / "hi.yaml").write_text("type: task\nname: thin\nenv:\n  GREETING: hello\n"
                                      "commands:\n  - echo $GREETING $PROBE; env | grep -c '^PATH='\n")
    done, heavy = run_cli("run", "hi.yaml", "-f", cwd=tmp_path, env={"PROBE": "from the client"})
    assert (done.returncode, done.stdout) == (0, "hello from the client\n1\n"), done.stderr  # the client's env
    assert heavy == []
    record = served.get("thin")
    assert (record.status, record.source_file) == ("succeeded", str(tmp_path / "hi.yaml"))
    assert b"core.supervisor_server" in Path(f"/proc/{server_pid(served)}/cmdline").read_bytes()


@pytest.mark.parametrize("text,cluster", [
    ("type: task\nname: bad\ncomands:\n  - echo\n", None),  # a spec problem, positioned
    ("type: task\nname: ok\ncommands:\n  - echo\n", "nope"),  # an unknown cluster
    ("type: task\nname: gpu\nresources:\n  gpu: 64\ncommands:\n  - echo\n", None),  # more GPUs than here
])
def test_a_refused_submit_says_exactly_what_a_submit_in_the_client_says(served, tmp_path, text, cluster):
    (tmp_path / "s.yaml").write_text(text)
    args = ["run", "s.yaml", *(["-c", cluster] if cluster else [])]
    thin, heavy = run_cli(*args, cwd=tmp_path)
    plain, _ = run_cli(*args, cwd=tmp_path, env={"VESSL_TUI_SUPERVISOR_SERVER": "0"})
    assert heavy == []
    assert (thin.returncode, thin.stdout, thin.stderr) == (plain.returncode, plain.stdout, plain.stderr)
    assert thin.returncode == 1 and thin.stderr.strip() and "Traceback" not in thin.stderr
    assert served.list_runs() == [r for r in served.list_runs() if r.name not in ("bad", "ok", "gpu")]


def test_secrets_reach_the_run_through_the_server_and_nowhere_else(served, tmp_path, config_file):
    config_file.write_text("secrets:\n  token: from-the-config-QXth1Z\n")
    want = hashlib.sha256(b"from-the-config-QXth1Z inline-QXth2Z").hexdigest()  # the command holds no secret
    (tmp_path / "s.yaml").write_text(
        "name: secretive\nenv:\n  A:\n    secret: token\n  B:\n    value: inline-QXth2Z\n    secret: true\n"
        f"run:\n  - command: '[ \"$(printf %s \"$A $B\" | sha256sum | cut -c1-64)\" = {want} ] && echo values-ok'\n")
    env = {"VESSL_TUI_SECRET_UNUSED": "QXth3Z"}
    done, heavy = run_cli("run", "s.yaml", "-f", cwd=tmp_path, env=env)
    assert (done.returncode, done.stdout, heavy) == (0, "values-ok\n", []), done.stderr
    record = served.get("secretive")
    stored = json.dumps(served.store.run(record.id), default=str)
    provisioning = served.read_log(record.id, provisioning=True)[0].decode()
    for marker in ("QXth1Z", "QXth2Z", "QXth3Z"):
        assert marker not in stored and marker not in provisioning and marker not in done.stderr
    assert "QXth3Z" not in json.dumps(served.run_env(record.id))


def test_the_run_is_submitted_in_the_client_when_no_server_answers(engine, tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))  # a server address of this test's own: none listens
    assert server_pid(engine) is None
    (tmp_path / "hi.yaml").write_text("type: task\nname: plain\ncommands:\n  - echo plain\n")
    done, heavy = run_cli("run", "hi.yaml", "-f", cwd=tmp_path)
    assert (done.returncode, done.stdout) == (0, "plain\n"), done.stderr
    assert "pydantic" in heavy  # validated here
    server = until(lambda: server_pid(engine), what="the server the run's supervisor starts for the next runs")
    os.kill(server, 15)
