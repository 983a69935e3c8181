"""Bad input gets one sentence, never a traceback, a hang or raw terminal codes: a non-UTF-8 config,
out-of-range config values, `ps --label` without `=`, escape sequences in a spec, a FIFO given to
`validate`; and the supervisor server is found however the interpreter was reached."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import REPO
from tests.engine.helpers import cli


def test_a_config_that_is_not_utf8_is_one_sentence_for_every_command(config_file, tmp_path):
    config_file.write_bytes(b"clusters:\n  caf\xe9: {kind: local}\n")
    spec = tmp_path / "t.yaml"
    spec.write_text("type: task\ncommands: [echo hi]\n")
    for args in (["clusters"], ["presets"], ["run", str(spec)]):
        done = cli(*args)
        assert done.returncode == 1, (args, done.stderr)
        assert done.stderr == (f"error: {config_file}: the config file is not UTF-8 text (byte 0xe9 at offset 15); "
                               "save it as UTF-8.\n"), args


def test_out_of_range_config_values_are_refused_where_they_are(config_file):
    config_file.write_text("clusters:\n  box: {kind: ssh, host: h, port: 99999999}\n"
                           "presets:\n  neg: {cpu: -5}\n  vague: {memory: lots}\n  fine: {cpu: 2, memory: 4Gi}\n")
    done = cli("presets")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    lines = done.stderr.removeprefix("error: ").splitlines()
    assert [line.split(": error: ")[0].rsplit(":", 2)[1:] for line in lines] == [["2", "35"], ["4", "14"], ["5", "19"]]
    assert "clusters.box.port: Input should be less than or equal to 65535" in lines[0]
    assert "presets.neg.cpu: Input should be greater than 0" in lines[1]
    assert "presets.vague.memory: invalid memory size `lots`" in lines[2]


def test_ps_label_without_a_value_is_refused():
    for args in (["ps", "--label", "foo"], ["ps", "--all", "--label=foo", "--json"]):
        done = cli(*args)
        assert (done.returncode, done.stdout) == (1, ""), args
        assert done.stderr == "error: --label takes KEY=VALUE, got `foo`; e.g. --label service=echo.\n"


def test_escape_sequences_from_a_spec_are_shown_escaped(tmp_path):
    spec = tmp_path / "evil.yaml"
    spec.write_text('type: task\nname: "ev\\e[31mil\\e]0;pwned\\a"\ncommands: [echo hi]\n')
    bad = tmp_path / "bad.yaml"
    bad.write_text('type: "ta\\e[2Jsk"\n')
    run_id = cli("run", str(spec)).stdout.split()[-1]
    shown = cli("ps").stdout + cli("show", run_id).stdout + cli("validate", str(bad)).stdout
    assert "\x1b" not in shown and "\x07" not in shown
    assert "ev\\x1b[31mil\\x1b]0;pw" in shown  # ps cuts the name to 20 characters
    assert "unknown configuration type `ta\\x1b[2Jsk`" in shown


def test_validate_on_a_fifo_that_nobody_writes_says_so(tmp_path):
    fifo = tmp_path / "spec.yaml"
    os.mkfifo(fifo)
    done = cli("validate", str(fifo), timeout=60)
    assert done.returncode == 1
    assert done.stdout == f"{fifo}:1:1: error: this FIFO gave nothing for 3 s; write the spec into it, or give a spec file\n"


def test_validate_reads_a_fifo_that_is_written(tmp_path):
    fifo = tmp_path / "spec.yaml"
    os.mkfifo(fifo)
    reader = subprocess.Popen([sys.executable, "-m", "core.cli.main", "validate", str(fifo)], cwd=REPO,
                              stdout=subprocess.PIPE, text=True)
    with open(fifo, "w") as fh:
        fh.write("type: task\ncommands: [echo hi]\n")
    out, _ = reader.communicate(timeout=60)
    assert (reader.returncode, out) == (0, f"{fifo}: ok (dstack-task)\n")


def test_the_supervisor_server_address_is_the_same_however_the_venv_is_reached(tmp_path):
    link = tmp_path / "venv-link"
    venv = os.path.dirname(os.path.dirname(sys.executable))
    link.symlink_to(venv)
    code = "from core.supervisor_server import address; print(repr(address()))"
    env = {**os.environ, "PYTHONPATH": ""}
    direct = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True)
    linked = subprocess.run([str(link / "bin" / os.path.basename(sys.executable)), "-c", code], cwd=REPO, env=env,
                            capture_output=True, text=True)
    assert direct.returncode == 0 and linked.returncode == 0, direct.stderr + linked.stderr
    assert direct.stdout == linked.stdout
