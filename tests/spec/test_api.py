"""The rest of the public API: templates, field help, JSON Schema, lazy import."""

from __future__ import annotations

import subprocess
import sys

import pytest

from core.spec import field_help, json_schema, load_text, templates
from tests.conftest import REPO


def test_templates_are_valid_and_need_no_image():
    found = templates()
    assert {"vessl-run", "dstack-task", "vessl-revision"} <= set(found)
    for name, text in found.items():
        docs = load_text(text, name)
        assert all(d.valid and not d.problems for d in docs), [p.format() for d in docs for p in d.problems]
        spec = docs[0].spec
        assert spec.image is None and spec.commands
        assert spec.resources.cluster in (None, "local")


@pytest.mark.parametrize("kind, path, fragment", [
    ("dstack-task", "resources.gpu", "tokens in any order"),
    ("task", "max_duration", "Stop the run after"),
    ("dstack-service", "port", "Port the service listens on"),
    ("vessl-run", "resources.requests.nvidia.com/gpu", "NVIDIA GPUs"),
    ("vessl-run", 'resources.requests["nvidia.com/gpu"].quantity', "Number of GPUs"),
    ("vessl-run", "env.HF_TOKEN.secret", "stored secret"),
    ("vessl-run", "import./code/", "copied in before start"),
    ("vessl-revision", "service.autoscaling.metric", "cpu, memory"),
    ("dstack-task", "ports[0]", "Ports to forward"),
])
def test_field_help(kind, path, fragment):
    assert fragment in (field_help(kind, path) or "")


@pytest.mark.parametrize("kind, path", [("dstack-task", "nope"), ("dstack-task", "resources.nope"),
                                        ("cobol", "name")])
def test_field_help_unknown(kind, path):
    assert field_help(kind, path) is None


def test_json_schema_describes_fields():
    dstack = json_schema("dstack")
    task = dstack["$defs"]["Task"]
    assert task["additionalProperties"] is False
    assert "tokens in any order" in dstack["$defs"]["Resources_"]["properties"]["gpu"]["description"]
    vessl = json_schema("vessl")
    assert "import" in vessl["properties"] and "nvidia.com/gpu" in vessl["$defs"]["Requests"]["properties"]
    assert "service" in json_schema("revision")["required"]
    with pytest.raises(ValueError):
        json_schema("cobol")


def test_importing_core_spec_is_cheap():
    code = "import sys, core.spec; print('pydantic' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
