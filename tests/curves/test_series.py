"""Stored series: bounded for plotting with exact figures, incremental reads, the run's own file."""

from __future__ import annotations

import json

from core.curves.recorder import CurveRecorder
from core.curves.files import LOG_METRICS, REPORTED, last_values
from core.curves.series import CurveReader, Series, raw_points


def test_a_series_stays_bounded_and_keeps_exact_figures_and_the_newest_point():
    series = Series("loss", max_points=100)
    for step in range(10_000):
        series.add(step, 10_000 - step)
    steps, values = series.points()
    assert len(steps) <= 101
    assert steps[0] == 0 and steps[-1] == 9_999 and values[-1] == 1
    assert (series.count, series.min, series.max, series.last) == (10_000, 1, 10_000, 1)
    assert steps == sorted(steps)


def test_nan_is_kept_as_a_point_but_not_as_min_or_max():
    series = Series("loss")
    for step, value in enumerate([1.0, float("nan"), 0.5]):
        series.add(step, value)
    assert (series.min, series.max, series.count) == (0.5, 1.0, 3)


def test_the_reader_reads_only_what_was_appended(tmp_path):
    path = tmp_path / LOG_METRICS
    path.write_text('{"step": 1, "loss": 0.9}\n{"step": 2, "lo')
    reader = CurveReader(tmp_path)
    assert reader.poll() is True
    assert reader.series()["loss"].count == 1
    with open(path, "a") as fh:
        fh.write('ss": 0.8}\nnot json\n{"step": 3, "loss": 0.7, "note": "text", "ok": true}\n')
    assert reader.poll() is True
    loss = reader.series()["loss"]
    assert loss.points() == ([1, 2, 3], [0.9, 0.8, 0.7])
    assert set(reader.series()) == {"loss"}
    assert reader.poll() is False


def test_the_runs_own_file_wins_over_the_log_for_a_name(tmp_path):
    (tmp_path / LOG_METRICS).write_text('{"step": 1, "loss": 5.0, "lr": 0.1}\n')
    (tmp_path / REPORTED).write_text('{"step": 1, "loss": 0.5}\n{"loss": 0.4}\n')
    reader = CurveReader(tmp_path)
    reader.poll()
    assert reader.series()["loss"].points() == ([1, 2], [0.5, 0.4])
    assert reader.series()["lr"].last == 0.1
    assert sorted(raw_points(tmp_path)) == [("loss", 1, 0.5), ("loss", 2, 0.4), ("lr", 1, 0.1)]


def test_the_recorder_resumes_where_it_stopped_and_keeps_last_values(tmp_path):
    log = tmp_path / "output.log"
    log.write_bytes(b"step=1 loss=0.9\nstep=2 loss=0.8\nstep=3 lo")
    recorder = CurveRecorder(tmp_path)
    recorder.catch_up(log)
    recorder.close()
    with open(log, "ab") as fh:
        fh.write(b"ss=0.7\nloss=0.6\n")
    (tmp_path / REPORTED).write_text(json.dumps({"step": 5, "acc": 0.5}) + "\n")
    again = CurveRecorder(tmp_path)  # a new supervisor: continues from the saved cursor
    again.catch_up(log)
    again.reported_appended()
    again.close()
    lines = [json.loads(line) for line in (tmp_path / LOG_METRICS).read_text().splitlines()]
    assert lines == [{"step": 1, "loss": 0.9}, {"step": 2, "loss": 0.8}, {"step": 3, "loss": 0.7},
                     {"step": 4, "loss": 0.6}]
    assert last_values(tmp_path) == {"loss": 0.6, "acc": 0.5}


def test_a_recorder_that_died_between_saves_is_resumed_without_storing_a_point_twice(tmp_path):
    log = tmp_path / "output.log"
    log.write_bytes(b"step=1 loss=0.9\nstep=2 loss=0.8\n")
    died = CurveRecorder(tmp_path)
    died.log(b"step=1 loss=0.9\n")  # saved at once (the first save)
    died.log(b"step=2 loss=0.8\n")  # stored, but the state still points before it: then killed
    again = CurveRecorder(tmp_path)
    again.catch_up(log)
    again.close()
    lines = [json.loads(line) for line in (tmp_path / LOG_METRICS).read_text().splitlines()]
    assert lines == [{"step": 1, "loss": 0.9}, {"step": 2, "loss": 0.8}]


def test_parsing_off_stores_no_log_series(tmp_path):
    log = tmp_path / "output.log"
    log.write_bytes(b"step=1 loss=0.9\n")
    recorder = CurveRecorder(tmp_path, parse_log=False)
    recorder.catch_up(log)
    recorder.close()
    assert not (tmp_path / LOG_METRICS).exists()


def test_stored_lines_are_what_json_dumps_writes(tmp_path):
    from core.curves.parse import Record

    recorder = CurveRecorder(tmp_path)
    for record in (Record(1, {"loss": 0.5, "gap": float("nan"), "low": float("-inf"), "n": 3}),
                   Record(0.25, {'odd "name"': 1e-05, "big": 1e300})):
        assert recorder.encode(record) == json.dumps({"step": record.step, **record.values}) + "\n"


def test_a_json_line_takes_its_step_as_the_log_parser_does():
    from core.curves.series import numbers

    assert numbers({"epoch": 0.5, "step": 10, "loss": 1, "ok": True, "note": "x"}) == (10, {"loss": 1.0})
    assert numbers({"epoch": 2, "acc": 0.5}) == (2, {"acc": 0.5})
    assert numbers(["not", "a", "dict"]) == (None, {})


def test_a_log_naming_endless_keys_holds_a_bounded_number_of_series(tmp_path):
    from core.curves.series import MAX_METRICS

    (tmp_path / LOG_METRICS).write_text("".join(json.dumps({f"k{i}": i}) + "\n" for i in range(MAX_METRICS + 50)))
    reader = CurveReader(tmp_path)
    reader.poll()
    assert len(reader.series()) == MAX_METRICS and len(reader.left_out) == 50
    assert len(list(raw_points(tmp_path))) == MAX_METRICS + 50  # all of it stays on disk
