"""Metrics of real local runs: parsed from the log while it runs, and read from $VESSL_TUI_METRICS."""

from __future__ import annotations

import csv
import io
import json

from tests.engine.helpers import cli, spec, until

HF_LINES = ("python3 -c \"import sys\nfor i in range(1, 201):\n"
            "    print({'loss': round(2.0 / i, 4), 'learning_rate': 5e-05, 'epoch': i / 100}, flush=True)\"")
OWN_FILE = ("python3 -c \"import json, os\nwith open(os.environ['VESSL_TUI_METRICS'], 'a') as f:\n"
            "    for step in range(3):\n        f.write(json.dumps({'step': step, 'reward': step * 2.5}) + '\\n')\"")


def test_a_local_run_reports_parsed_and_written_metrics(engine):
    record = engine.submit_spec(spec(HF_LINES, OWN_FILE, "echo 'Python version: 3.11.7 at 10.0.0.1'"))
    assert engine.wait(record.id, timeout=60).status == "succeeded"
    reader = engine.curves(record.id, settled=True)
    reader.poll()
    found = reader.series()
    assert set(found) == {"loss", "learning_rate", "reward"}  # epoch is the step, the version line nothing
    assert found["loss"].count == 200 and found["loss"].last == 0.01 and found["loss"].last_step == 2.0
    assert found["reward"].points() == ([0, 1, 2], [0.0, 2.5, 5.0])
    assert engine.last_metrics(record.id) == {"loss": 0.01, "learning_rate": 5e-05, "reward": 5.0}


def test_metrics_are_there_while_the_run_goes(engine, tmp_path):
    gate = tmp_path / "gate"
    record = engine.submit_spec(spec(f"echo step=1 loss=0.5; while [ ! -e {gate} ]; do sleep 0.05; done; "
                                     "echo step=2 loss=0.25"))
    reader = engine.curves(record.id)
    until(lambda: reader.poll() or reader.series().get("loss"), timeout=30, what="the first point")
    assert engine.get(record.id).status == "running"
    gate.touch()
    engine.wait(record.id, timeout=30)
    engine.curves(record.id, settled=True)
    reader.poll()
    assert reader.series()["loss"].points() == ([1, 2], [0.5, 0.25])


def test_metrics_command_and_ps_json(engine, tmp_path):
    spec_file = tmp_path / "train.yaml"
    spec_file.write_text("type: task\nname: train\ncommands:\n  - for i in 1 2 3; do echo \"step=$i loss=0.$i\"; done\n")
    submitted = cli("run", str(spec_file))
    run_id = submitted.stdout.split()[-1]
    engine.wait(run_id, timeout=60)
    table = cli("metrics", "train")
    assert table.returncode == 0, table.stderr
    assert "loss" in table.stdout and "0.3" in table.stdout and "0.1" in table.stdout
    rows = list(csv.reader(io.StringIO(cli("metrics", run_id, "--csv").stdout)))
    assert rows == [["run", "metric", "step", "value"], [run_id, "loss", "1", "0.1"], [run_id, "loss", "2", "0.2"],
                    [run_id, "loss", "3", "0.3"]]
    data = json.loads(cli("metrics", run_id, "--json").stdout)
    assert data == {run_id: {"loss": {"steps": [1, 2, 3], "values": [0.1, 0.2, 0.3]}}}
    listed = json.loads(cli("ps", "--json").stdout)
    assert [r["metrics"] for r in listed if r["id"] == run_id] == [{"loss": 0.3}]
    unknown = cli("metrics", "nope")
    assert unknown.returncode == 1 and unknown.stderr.startswith("error: ") and "Traceback" not in unknown.stderr


def test_a_backlog_is_parsed_after_the_end_and_clients_get_every_point(tmp_path):
    """A run that dumps its log at once is final before its metrics are all stored; `metrics`
    waits for the supervisor to store the last point."""
    spec_file = tmp_path / "dump.yaml"
    spec_file.write_text("type: task\nname: dump\ncommands:\n  - |\n    awk 'BEGIN { for (i = 1; i <= 200000; i++) "
                         "{ if (i % 10 == 0) printf \"step=%d loss=%.4f\\n\", i, 1 / i; else print \"noise\", i } }'\n")
    done = cli("run", str(spec_file), "--follow")
    assert done.returncode == 0, done.stderr
    rows = cli("metrics", "dump", "--csv").stdout.splitlines()
    assert len(rows) == 1 + 20_000 and ",loss,200000," in rows[-1]


def test_a_client_stores_the_metrics_a_dead_supervisor_left_unparsed(engine, vessl_home, tmp_path):
    """The supervisor died after the run was final but before it parsed the log: the next client
    that reads the metrics parses the rest, so no point is lost."""
    spec_file = tmp_path / "short.yaml"
    spec_file.write_text("type: task\nname: short\ncommands:\n  - for i in 1 2 3; do echo \"step=$i loss=0.$i\"; done\n")
    assert cli("run", str(spec_file), "--follow").returncode == 0
    run_id = engine.list_runs()[0].id
    engine.curves(run_id, settled=True)
    folder = vessl_home / "runs" / run_id
    (folder / "metrics.jsonl").unlink()  # as if the supervisor had been killed before parsing any of it
    (folder / "metrics.state.json").write_text(json.dumps({"log_offset": 0, "complete": False}))
    rows = list(csv.reader(io.StringIO(cli("metrics", run_id, "--csv").stdout)))
    assert rows[1:] == [[run_id, "loss", "1", "0.1"], [run_id, "loss", "2", "0.2"], [run_id, "loss", "3", "0.3"]]
    assert json.loads((folder / "metrics.state.json").read_text())["complete"] is True
