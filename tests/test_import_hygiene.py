"""`core` never imports textual, rich or tui: the engine stays headless and the CLI starts fast."""

from __future__ import annotations

import os
import pkgutil
import subprocess
import sys

import pytest

import core

from tests.conftest import REPO


def _core_modules() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages(core.__path__, "core."))


def test_core_imports_no_textual() -> None:
    modules = _core_modules()
    assert "core.engine" in modules
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}:\n"
        "    importlib.import_module(m)\n"
        "bad = sorted(n for n in sys.modules if n.split('.')[0] in ('textual', 'rich', 'tui'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"core pulled in: {out.stdout.strip()}"


def test_cli_help_imports_no_heavy_sdk() -> None:
    code = (
        "import sys\n"
        "from core.cli.main import cli\n"
        "try:\n    cli(['--help'], standalone_mode=False)\nexcept SystemExit:\n    pass\n"
        "heavy = sorted(n for n in sys.modules if n.split('.')[0] in ('docker', 'paramiko', 'pynvml', 'textual', 'pydantic',\n"
        "    's3fs', 'fsspec', 'botocore', 'boto3', 'aiobotocore', 'gcsfs', 'huggingface_hub'))\n"
        "print(','.join(heavy), file=sys.stderr)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stderr.strip() == "", f"--help imported: {out.stderr.strip()}"


def test_reading_the_keymap_imports_no_validation_models(tmp_path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("keys:\n  runs.stop: ctrl+k\n  bad: [1]\nclusters: {lab: {kind: nonsense}}\n")
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from core.keymap import read_keys\n"
        f"print(read_keys(Path({str(config)!r})))\n"
        "print('pydantic' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.split("\n")[:2] == ["{'runs.stop': 'ctrl+k'}", "False"]


def test_the_console_script_runs_headless_commands_without_textual() -> None:
    code = (
        "import sys\n"
        "sys.argv = ['vessl-tui', 'ps', '--json']\n"
        "from tui.launch import main\n"
        "main()\n"
        "print(sorted(n for n in sys.modules if n.split('.')[0] in ('textual', 'click', 'pydantic', 's3fs', 'fsspec',\n"
        "    'botocore', 'gcsfs', 'huggingface_hub')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines() == ["[]", "[]"]


def test_validating_a_file_through_the_console_script_prints_one_positioned_problem(tmp_path) -> None:
    spec = tmp_path / "run.yaml"
    spec.write_text("name: x\nimage: python:3.11\nresources: {cluster: docker}\nrun: echo hi\nprots: [1]\n")
    code = (
        "import sys\n"
        f"sys.argv = ['vessl-tui', 'validate', {str(spec)!r}]\n"
        "from tui.launch import main\n"
        "main()\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert out.returncode == 1, out.stderr
    assert out.stdout.strip().splitlines() == [f"{spec}:5:1: error: prots: unknown field `prots` — did you mean `ports`?"]


def test_validating_imports_neither_textual_nor_the_other_formats_models(tmp_path) -> None:
    """A VESSL spec is validated by the VESSL models alone: dstack's are never built."""
    spec = tmp_path / "run.yaml"
    spec.write_text("name: x\nimage: python:3.11\nrun: echo hi\n")
    code = ("import sys; from core.cli.validation import report; text, code = report([sys.argv[1]], False); "
            "print(code, sorted(m for m in ('core.spec.dstack', 'textual', 'core.spec.schema') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code, str(spec)], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout == "0 []\n", out.stdout + out.stderr


@pytest.mark.parametrize("argv", [["--help"], ["ps"], ["logs", "nope"], ["stop", "nope"]])
def test_commands_that_read_no_spec_import_neither_pydantic_nor_pyyaml(argv, tmp_path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("clusters:\n  lab: {kind: docker, host: 'unix:///nowhere.sock'}\n")
    env = {**os.environ, "VESSL_TUI_CONFIG": str(config), "VESSL_TUI_HOME": str(tmp_path / "home")}
    code = (
        "import sys\n"
        f"sys.argv = ['vessl-tui', *{argv!r}]\n"
        "from tui.launch import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(sorted(n for n in sys.modules if n.split('.')[0] in ('pydantic', 'yaml')), file=sys.stderr)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, env=env, check=True)
    assert out.stderr.strip().splitlines()[-1] == "[]", out.stderr


@pytest.mark.parametrize("columns", ["100", "60"])
def test_top_level_help_is_clicks_text_and_imports_click_only_on_a_narrow_terminal(columns) -> None:
    """`vessl-tui --help` prints click's help without importing click when click's layout is 80 wide."""
    env = {**os.environ, "COLUMNS": columns}
    probe = (
        "import sys\n"
        "sys.argv = ['vessl-tui', '--help']\n"
        "from tui.launch import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('click' in sys.modules, file=sys.stderr)\n"
    )
    quick = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, env=env, check=True)
    by_click = subprocess.run([sys.executable, "-c", "from core.cli.main import cli; cli(['--help'], prog_name='vessl-tui')"],
                              cwd=REPO, capture_output=True, text=True, env=env, check=True)
    assert quick.stdout == by_click.stdout
    assert "Commands:\n  artifacts  Registry artifacts: list, show, rm.\n" in quick.stdout
    assert quick.stderr.strip() == ("True" if columns == "60" else "False")


@pytest.mark.parametrize("argv", [["ps"], ["ps", "--json"]])
def test_listing_runs_imports_neither_dataclasses_inspect_typing_threading_nor_click(argv, tmp_path) -> None:
    """Nor json for the text listing: its rows hold no JSON column (the run below has labels)."""
    unwanted = ("dataclasses", "inspect", "typing", "threading", "click") + (("json",) if argv == ["ps"] else ())
    env = {**os.environ, "VESSL_TUI_HOME": str(tmp_path / "home")}
    seed = ("import time; from core.store import Store; Store().insert_run({'id': 'abcd1234', 'name': 'one', "
            "'status': 'succeeded', 'cluster': 'local', 'created_at': time.time(), 'exit_code': 0, 'labels': {'k': 'v'}})")
    subprocess.run([sys.executable, "-c", seed], cwd=REPO, env=env, check=True)
    probe = (
        "import sys\n"
        f"sys.argv = ['vessl-tui', *{argv!r}]\n"
        "from tui.launch import main\n"
        "main()\n"
        f"print(sorted(n for n in {unwanted!r} if n in sys.modules), file=sys.stderr)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, env=env, check=True)
    assert "abcd1234" in out.stdout
    assert out.stderr.strip() == "[]"
