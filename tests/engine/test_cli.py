"""The headless commands as a user runs them: real processes, exit codes, one-sentence errors."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from click.testing import CliRunner

from core.cli.main import cli as click_cli
from tests.conftest import REPO
from tests.engine.helpers import cli, spec

HELLO = "type: task\nname: hello\ncommands:\n  - echo hello $WHO\n  - echo oops >&2\n  - exit 3\nenv:\n  - WHO=world\n"


def write(tmp_path, text: str, name: str = "spec.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def assert_one_sentence(result, *fragments: str) -> None:
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_run_follow_streams_and_exits_with_the_run_exit_code(tmp_path):
    result = cli("run", str(write(tmp_path, HELLO)), "--follow")
    assert result.returncode == 3
    assert result.stdout == "hello world\noops\n"


def test_run_prints_the_id_last_then_ps_logs_show_rerun_rm(tmp_path):
    submitted = cli("run", str(write(tmp_path, HELLO)))
    assert submitted.returncode == 0
    run_id = submitted.stdout.strip().splitlines()[-1]
    assert cli("logs", "hello", "-f").stdout == "hello world\noops\n"
    runs = json.loads(cli("ps", "--json").stdout)
    assert [(r["id"], r["name"], r["status"], r["cluster"], r["exit_code"]) for r in runs] == [
        (run_id, "hello", "failed", "local", 3)
    ]
    assert {"created_at", "labels", "gpus"} <= set(runs[0])
    assert "exit code 3" in cli("show", run_id[:5]).stdout
    again = cli("rerun", "hello", "--follow")
    assert again.returncode == 3 and again.stdout.startswith("hello world\n")
    assert len(json.loads(cli("ps", "--all", "--json").stdout)) == 2
    removed = cli("rm", run_id)
    assert removed.returncode == 0 and run_id in removed.stdout
    assert cli("logs", run_id).returncode == 1


def test_dry_run_prints_the_plan_and_starts_nothing(tmp_path):
    text = (
        "name: plan\nimage: python:3.12\nrun:\n  - command: python train.py\n"
        "env:\n  HF_TOKEN: {value: abc123secret, secret: true}\n"
    )
    result = cli("run", str(write(tmp_path, text)), "--dry-run")
    assert result.returncode == 0
    assert "cluster:   local (local)" in result.stdout
    assert "python train.py" in result.stdout
    assert "HF_TOKEN=********" in result.stdout and "abc123secret" not in result.stdout
    assert "image `python:3.12` does not apply to local processes" in result.stderr
    assert json.loads(cli("ps", "--all", "--json").stdout) == []


def test_stop_from_the_command_line(tmp_path):
    run_id = cli("run", str(write(tmp_path, "type: task\nname: long\ncommands: [sleep 300]\n"))).stdout.split()[-1]
    stopped = cli("stop", run_id, "--wait")
    assert stopped.returncode == 0 and stopped.stdout.strip() == f"{run_id} stopped"
    assert json.loads(cli("ps", "--json").stdout)[0]["status"] == "stopped"
    row = cli("ps").stdout.splitlines()[1]
    assert row.endswith("143  stopped by request")  # REASON filled for a stopped run too


def test_bad_input_gets_one_sentence_and_exit_1(tmp_path, config_file):
    config_file.write_text("presets:\n  small: {cpu: 1, memory: 1GB}\n")
    spec_file = write(tmp_path, HELLO)
    assert_one_sentence(cli("logs", "nope"), "no run matches `nope`")
    assert_one_sentence(cli("stop", "nope"), "no run matches `nope`")
    assert_one_sentence(cli("run", str(spec_file), "--cluster", "mars"), "unknown cluster `mars`", "local")
    preset = write(tmp_path, "name: p\nresources: {cluster: local, preset: huge}\nrun:\n  - command: echo\n", "preset.yaml")
    assert_one_sentence(cli("run", str(preset)), "unknown preset `huge`", "small")
    gpus = write(tmp_path, "type: task\ncommands: [true]\nresources: {gpu: A100:2}\n", "gpu.yaml")
    assert_one_sentence(cli("run", str(gpus)), "needs 2× A100, cluster local has no GPU.")
    cpus = write(tmp_path, "type: task\ncommands: [true]\nresources: {cpu: 4096}\n", "cpu.yaml")
    assert_one_sentence(cli("run", str(cpus)), "needs 4096 CPUs, cluster local has")
    missing = cli("run", str(tmp_path / "gone.yaml"))
    assert missing.returncode == 1 and "Traceback" not in missing.stderr
    assert missing.stderr.strip() == f"{tmp_path / 'gone.yaml'}:1:1: error: no such file"
    assert json.loads(cli("ps", "--all", "--json").stdout) == []


def test_rerun_of_inline_secrets_needs_the_file(tmp_path):
    text = "name: secretive\nrun:\n  - command: test -n \"$TOKEN\" && echo have-token\nenv:\n  TOKEN: {value: tok-4f9e1b, secret: true}\n"
    spec_file = write(tmp_path, text)
    first = cli("run", str(spec_file), "--follow")
    assert first.returncode == 0 and first.stdout == "have-token\n"
    rerun = cli("rerun", "secretive", "--follow")
    assert rerun.returncode == 0 and rerun.stdout == "have-token\n"
    spec_file.unlink()
    assert_one_sentence(cli("rerun", "secretive"), "inline secrets", "submit the file again")


def test_clusters_and_presets(config_file):
    config_file.write_text("presets:\n  small: {cpu: 1, memory: 1GB}\n  gpu-l4: {gpu: 'L4:1', cluster: local}\n")
    listed = cli("clusters")
    assert listed.returncode == 0
    assert listed.stdout.splitlines()[1].split()[:2] == ["local", "local"]
    tested = cli("clusters", "test", "local")
    assert tested.returncode == 0 and "local: reachable" in tested.stdout
    assert_one_sentence(cli("clusters", "trust", "local"), "has no SSH host key to trust")
    assert_one_sentence(cli("clusters", "test", "mars"), "unknown cluster `mars`")
    presets = cli("presets").stdout
    assert "small" in presets and "gpu-l4" in presets


def test_config_errors_point_into_the_file(config_file, tmp_path):
    config_file.write_text("clusters:\n  lab:\n    kind: dockr\n")
    result = cli("clusters")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"{config_file}:3:11: error: clusters.lab.kind:" in result.stderr


def test_ps_without_click_prints_what_the_click_command_prints(engine):
    """The plain forms of `ps` skip click; both paths read one option table and print the same."""
    failed = engine.submit_spec(spec("exit 3", name="broken"), labels={"team": "a"})
    done = engine.submit_spec(spec("true", name="fine"))
    engine.wait(failed.id, timeout=60), engine.wait(done.id, timeout=60)
    for args in (["--all"], ["-a", "--json"], ["--label", "team=a"], ["--label=team=a", "--json"], []):
        quick = cli("ps", *args)
        slow = CliRunner().invoke(click_cli, ["ps", *args])
        assert (quick.returncode, quick.stdout) == (slow.exit_code, slow.output), args
    assert "broken" in quick.stdout and "exit code 3" in cli("ps").stdout
    probe = "import sys\nfrom core.cli.main import main\nsys.argv = ['vessl-tui', 'ps', '--all']\n" \
            "try:\n    main()\nexcept SystemExit:\n    pass\nprint('click' in sys.modules, file=sys.stderr)\n"
    assert cli_python(probe).stderr.strip() == "False"
    # anything else is click's: help, typos, a missing value
    assert "Only runs with this label." in cli("ps", "--help").stdout
    for bad in (["--bogus"], ["--label"], ["-aj"], ["--all=yes"]):
        result = cli("ps", *bad)
        assert result.returncode == 2 and "Error:" in result.stderr and "Traceback" not in result.stderr, bad


def test_run_without_click_prints_what_the_click_command_prints(tmp_path):
    """The plain forms of `run` (FILE, -c/--cluster NAME, -f/--follow) skip click and print and exit
    as the click command does; every other form is click's."""
    hello = str(write(tmp_path, HELLO))

    def same(text: str) -> str:  # each submit makes a new run id
        return re.sub(r"\b[0-9a-f]{8}\b", "ID", text)

    for args in ([hello, "-f"], [hello, "--follow", "--cluster=local"], ["-c", "local", hello], [hello],
                 [hello, "-c", "nowhere"], [str(tmp_path / "absent.yaml"), "-f"]):
        quick = cli("run", *args)
        slow = CliRunner().invoke(click_cli, ["run", *args])
        assert (quick.returncode, same(quick.stdout), same(quick.stderr)) == (
            slow.exit_code, same(slow.stdout), same(slow.stderr)), args
    assert quick.returncode == 1 and "absent.yaml:1:1: error: no such file" in quick.stderr
    probe = ("import sys\nfrom core.cli.main import main\nsys.argv = ['vessl-tui', 'run', sys.argv[1], '-f']\n"
             "try:\n    main()\nexcept SystemExit:\n    pass\nprint('click' in sys.modules, file=sys.stderr)\n")
    followed = subprocess.run([sys.executable, "-c", probe, hello], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert followed.stdout == "hello world\noops\n" and followed.stderr.strip().endswith("False")
    # anything else is click's: a folder, help, a typo, a missing value, an extra word
    assert "Error: Invalid value for 'FILE'" in cli("run", str(tmp_path)).stderr
    assert "Stream the logs and exit with the run's exit code." in cli("run", "--help").stdout
    for bad in (["--bogus", hello], [hello, "-c"], [hello, "extra"]):
        result = cli("run", *bad)
        assert result.returncode == 2 and "Error:" in result.stderr and "Traceback" not in result.stderr, bad


def cli_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("command", ["ps", "run", "validate"])
def test_ctrl_c_in_a_click_free_command_ends_as_click_ends_it(command, monkeypatch, capsys):
    """No traceback for a Ctrl-C outside the log's streaming (which detaches): `Aborted!`, exit 1."""
    import core.cli.main as cli_main

    def interrupted(argv):
        raise KeyboardInterrupt

    module_name, attr = cli_main.QUICK[command].split(":")
    __import__(module_name)
    monkeypatch.setattr(sys.modules[module_name], attr, interrupted)
    monkeypatch.setattr(sys, "argv", ["vessl-tui", command, "x"])
    with pytest.raises(SystemExit) as ended:
        cli_main.main()
    assert ended.value.code == 1 and capsys.readouterr().err == "\nAborted!\n"
