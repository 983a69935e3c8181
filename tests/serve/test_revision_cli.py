"""`vessl-tui revision` without replicas: create, list, reproduce, delete, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from core.cli.main import cli

SERVICE_YAML = """\
type: service
name: echo
commands:
  - python3 app.py --port $PORT
port: 8000
replicas: 1..3
scaling:
  metric: rps
  target: 5
"""

REVISION_YAML = """\
name: llava
message: first revision
image: python:3.11
resources:
  cluster: local
run:
  - command: fastapi run app.py
ports:
  - name: http
    type: http
    port: 8000
service:
  autoscaling:
    min: 1
    max: 2
    metric: cpu
    target: 50
  expose: 8000
"""


def invoke(*args: str):
    return CliRunner().invoke(cli, ["revision", *args], catch_exceptions=False)


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_create_list_reproduce_delete(tmp_path: Path) -> None:
    first = invoke("create", write(tmp_path, "svc.yml", SERVICE_YAML))
    assert first.exit_code == 0, first.output
    assert first.output.strip() == "echo:1 created"
    assert invoke("create", write(tmp_path, "rev.yaml", REVISION_YAML)).output.strip() == "llava:1 created"
    assert invoke("reproduce", "echo:1").output.strip() == "echo:2 created"

    rows = json.loads(invoke("list", "--json").output)
    assert [(r["service"], r["number"], r["status"], r["replicas"], r["endpoint"]) for r in rows] == [
        ("echo", 2, "created", "0", None),
        ("echo", 1, "created", "0", None),
        ("llava", 1, "created", "0", None),
    ]
    assert rows[2]["message"] == "first revision" and rows[2]["autoscale"] == "cpu 50%"
    table = invoke("list").output
    assert "echo" in table and "rps 5" in table

    deleted = invoke("delete", "echo:2")
    assert deleted.exit_code == 0 and deleted.output.strip() == "echo:2 deleted"
    assert [r["number"] for r in json.loads(invoke("list", "--json").output) if r["service"] == "echo"] == [1]


def test_bad_input_is_one_sentence(tmp_path: Path) -> None:
    bad = REVISION_YAML.replace("min: 1", "min: 3")
    result = invoke("create", write(tmp_path, "bad.yaml", bad))
    assert result.exit_code == 1
    assert "bad.yaml:14:5: error: service.autoscaling.min" in result.output
    assert "Traceback" not in result.output

    unknown = REVISION_YAML.replace("metric: cpu", "metric: latency")
    result = invoke("create", write(tmp_path, "unknown.yaml", unknown))
    assert result.exit_code == 1 and "service.autoscaling.metric" in result.output

    invoke("create", write(tmp_path, "svc.yml", SERVICE_YAML))
    invoke("create", write(tmp_path, "rev.yaml", REVISION_YAML))
    result = invoke("start", "1")
    assert result.exit_code == 1
    assert result.output.strip() == (
        "error: revision 1 exists in several services (echo:1, llava:1); name one with SERVICE:1."
    )
    result = invoke("scale", "echo:1", "7")
    assert result.output.strip() == "error: revision 1 scales within 1..3 replicas; 7 is outside that range."
    result = invoke("scale", "echo:1", "2")
    assert result.output.strip() == "error: revision 1 of echo is created; start it before scaling."
    result = invoke("traffic", "echo", "1=ninety")
    assert result.output.strip() == "error: '1=ninety' is not REVISION=WEIGHT (e.g. 3=90)."
    result = invoke("stop", "echo:9")
    assert result.output.strip() == "error: service 'echo' has no revision 9; `vessl-tui revision list` shows them."


def test_port_clash_for_replicas_on_a_fixed_port(tmp_path: Path) -> None:
    from core.serve.actions import ServeActions, check_port_sharing

    invoke("create", write(tmp_path, "rev.yaml", REVISION_YAML))
    rev = ServeActions().resolve("llava:1")
    try:
        check_port_sharing(rev, 2)
    except ValueError as exc:
        assert str(exc) == (
            "port clash: 2 replicas on one machine cannot all listen on port 8000; "
            "make the command listen on $PORT (each replica gets its own)."
        )
    else:
        raise AssertionError("two replicas on port 8000 were accepted")


def test_secrets_never_reach_the_store(tmp_path: Path, vessl_home: Path) -> None:
    text = REVISION_YAML + "env:\n  HF_TOKEN:\n    value: hf_supersecret_value\n    secret: true\n"
    result = invoke("create", write(tmp_path, "secret.yaml", text))
    assert result.exit_code == 0, result.output
    for path in vessl_home.rglob("*"):
        if path.is_file():
            assert b"hf_supersecret_value" not in path.read_bytes(), path
