"""`vessl-tui validate` and `vessl-tui schema`, through click's runner and once as a real process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from core.cli.main import cli
from tests.conftest import REPO

BAD = "type: task\ncommands: [echo]\nports:\n  - 8000\n  - 70000\nresources:\n  gpu: tpu-v5litepod-8\n"
GOOD = "type: task\ncommands: [echo hi]\n"


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    out = {"bad": tmp_path / "spec.yaml", "good": tmp_path / "good.yaml", "multi": tmp_path / "multi.yaml"}
    out["bad"].write_text(BAD)
    out["good"].write_text(GOOD)
    out["multi"].write_text(GOOD + "---\n" + GOOD)
    return out


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_invalid_file_prints_compiler_style_and_exits_1(files):
    result = run("validate", str(files["bad"]))
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert f"{files['bad']}:5:5: error: ports[1]: port must be 1..65535, got 70000" in lines
    assert any(line.startswith(f"{files['bad']}:7:8: warning: resources.gpu: the `tpu-` prefix") for line in lines)


def test_valid_files_exit_0(files):
    result = run("validate", str(files["good"]), str(files["multi"]))
    assert result.exit_code == 0, result.output
    assert f"{files['good']}: ok (dstack-task)" in result.output
    assert f"{files['multi']} (document 2): ok (dstack-task)" in result.output


def test_any_invalid_file_makes_exit_1(files, tmp_path):
    assert run("validate", str(files["good"]), str(files["bad"])).exit_code == 1
    assert run("validate", str(tmp_path / "missing.yaml")).exit_code == 1


def test_usage_errors_exit_2():
    assert run("validate").exit_code == 2
    assert run("validate", "--bogus", "x.yaml").exit_code == 2
    assert run("schema", "cobol").exit_code == 2


def test_json_output(files):
    result = run("validate", "--json", str(files["bad"]), str(files["multi"]))
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert [(d["file"], d["document"], d["valid"], d["kind"]) for d in data] == [
        (str(files["bad"]), 0, False, "dstack-task"),
        (str(files["multi"]), 0, True, "dstack-task"),
        (str(files["multi"]), 1, True, "dstack-task"),
    ]
    error = data[0]["errors"][0]
    assert {k: error[k] for k in ("line", "column", "path", "message")} == {
        "line": 5, "column": 5, "path": "ports[1]", "message": "port must be 1..65535, got 70000"}
    assert data[0]["warnings"][0]["path"] == "resources.gpu"


@pytest.mark.parametrize("fmt, title", [("vessl", "VESSL run"), ("dstack", "dstack configuration"),
                                        ("revision", "VESSL Serve revision")])
def test_schema(fmt, title):
    result = run("schema", fmt)
    assert result.exit_code == 0
    schema = json.loads(result.output)
    assert schema["title"] == title
    assert "$defs" in schema


def test_validate_as_a_real_process(files, tmp_path):
    junk = tmp_path / "junk.yaml"
    junk.write_bytes(b"\xff\xfe\x00garbage")
    proc = subprocess.run(
        [sys.executable, "-m", "core.cli.main", "validate", str(files["bad"]), str(junk), str(tmp_path)],
        cwd=REPO, capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 1
    assert f"{files['bad']}:5:5: error: ports[1]: port must be 1..65535, got 70000" in proc.stdout
    assert f"{junk}:1:1: error: the file is not UTF-8 text" in proc.stdout
    assert f"{tmp_path}:1:1: error: this is a directory; give a spec file" in proc.stdout
    assert "Traceback" not in proc.stderr


def test_validate_without_click_prints_what_the_click_command_prints(files, tmp_path):
    """`validate FILE... [--json]` skips click and prints and exits as the click command does; every
    other form (help, a typo, no file) is click's."""
    for args in ([str(files["bad"])], [str(files["good"]), str(files["multi"])], ["--json", str(files["bad"])],
                 [str(files["good"]), "--json", str(tmp_path)]):
        quick = subprocess.run([sys.executable, "-m", "core.cli.main", "validate", *args],
                               cwd=REPO, capture_output=True, text=True, timeout=60)
        slow = run("validate", *args)
        assert (quick.returncode, quick.stdout, quick.stderr) == (slow.exit_code, slow.stdout, slow.stderr), args
    probe = ("import sys\nfrom core.cli.main import main\nsys.argv = ['vessl-tui', 'validate', sys.argv[1]]\n"
             "try:\n    main()\nexcept SystemExit:\n    pass\nprint('click' in sys.modules, file=sys.stderr)\n")
    checked = subprocess.run([sys.executable, "-c", probe, str(files["good"])], cwd=REPO, capture_output=True,
                             text=True, timeout=60)
    assert checked.stdout.endswith(": ok (dstack-task)\n") and checked.stderr.strip() == "False"
    for bad in ([], ["--bogus", str(files["good"])], ["--json=yes", str(files["good"])]):
        result = subprocess.run([sys.executable, "-m", "core.cli.main", "validate", *bad],
                                cwd=REPO, capture_output=True, text=True, timeout=60)
        assert result.returncode == 2 and "Error:" in result.stderr and "Traceback" not in result.stderr, bad
