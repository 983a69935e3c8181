"""The log parser on real output formats, and on lines that look numeric but hold no metric."""

from __future__ import annotations

import math

import pytest

from core.curves.parse import LogParser, parse_line

#: (what printed it, the line, the metrics it holds)
METRIC_LINES = [
    ("HF Trainer, training", "{'loss': 2.3104, 'grad_norm': 1.2543, 'learning_rate': 5e-05, 'epoch': 0.5}",
     {"step": 0.5, "loss": 2.3104, "grad_norm": 1.2543, "learning_rate": 5e-05}),
    ("HF Trainer, eval", "{'eval_loss': 0.4121, 'eval_runtime': 1.2307, 'eval_samples_per_second': 406.27, "
     "'eval_steps_per_second': 51.0, 'epoch': 1.0}",
     {"step": 1.0, "eval_loss": 0.4121, "eval_runtime": 1.2307, "eval_samples_per_second": 406.27,
      "eval_steps_per_second": 51.0}),
    ("HF Trainer, summary", "{'train_runtime': 12.3, 'train_samples_per_second': 100.2, 'train_loss': 0.5, "
     "'epoch': 3.0}", {"step": 3.0, "train_runtime": 12.3, "train_samples_per_second": 100.2, "train_loss": 0.5}),
    ("Lightning progress bar", "Epoch 0:  45%|████▌     | 450/1000 [00:10<00:12, 44.12it/s, loss=0.523, v_num=0, "
     "train_acc=0.910]", {"loss": 0.523, "train_acc": 0.91}),
    ("Lightning, end of epoch", "Epoch 1: 100%|██████████| 938/938 [00:09<00:00, 97.66it/s, v_num=3, "
     "val_loss=0.123, val_acc=0.961, train_loss=0.0812]", {"val_loss": 0.123, "val_acc": 0.961, "train_loss": 0.0812}),
    ("Keras 2", "469/469 [==============================] - 3s 6ms/step - loss: 0.2936 - accuracy: 0.9150 "
     "- val_loss: 0.1400 - val_accuracy: 0.9580",
     {"loss": 0.2936, "accuracy": 0.915, "val_loss": 0.14, "val_accuracy": 0.958}),
    ("Keras 3", "469/469 ━━━━━━━━━━━━━━━━━━━━ 3s 6ms/step - accuracy: 0.8602 - loss: 0.4808",
     {"accuracy": 0.8602, "loss": 0.4808}),
    ("key=value print", "step=10 loss=0.3 lr=1e-4", {"step": 10, "loss": 0.3, "lr": 1e-4}),
    ("spaced key = value", "iter 5: loss = 0.25, acc = 0.9", {"loss": 0.25, "acc": 0.9}),
    ("logging prefix", "2024-05-01 12:00:03,120 - INFO - global_step=200 train/loss=1.25",
     {"step": 200, "train/loss": 1.25}),
    ("JSON line", '{"step": 10, "loss": 0.3}', {"step": 10, "loss": 0.3}),
    ("compact JSON", '{"step":11,"loss":0.29}', {"step": 11, "loss": 0.29}),
    ("negative and exponent", "reward=-1.5 kl=3.2E-3", {"reward": -1.5, "kl": 3.2e-3}),
    ("epoch as the step", "Epoch: 3, loss: 0.11", {"step": 3, "loss": 0.11}),
]

#: (what it is, a line that must not become a series)
NOT_METRICS = [
    ("timestamp", "2024-05-01 12:00:03,120 INFO Starting training"),
    ("clock", "time: 12:30:45"),
    ("eta", "ETA: 1:23:45"),
    ("version", "Python version: 3.10.12"),
    ("dotted version", "transformers: 4.40.1"),
    ("driver table", "| NVIDIA-SMI 535.54.03    Driver Version: 535.54.03    CUDA Version: 12.2 |"),
    ("IP", "host: 10.0.0.1"),
    ("IP and port", "Listening on 0.0.0.0:8080"),
    ("address", "MASTER_ADDR=127.0.0.1"),
    ("port", "port=29500"),
    ("progress percentage", "Downloading: 45%"),
    ("tqdm download", "model.safetensors: 100%|██████████| 548M/548M [00:05<00:00, 98.1MB/s]"),
    ("accuracy as a percentage", "accuracy: 91.2%"),
    ("duration with a unit", "elapsed: 3.2s"),
    ("throughput with a unit", "speed: 44.1it/s"),
    ("fraction", "batch: 450/1000"),
    ("thousands separator", "samples: 1,000"),
    ("pid", "worker pid=4242 started"),
    ("Lightning's v_num alone", "v_num=3"),
    ("word after the separator", "status: ok"),
    ("key starting with a digit", "3d=0.5"),
    ("date", "date: 2024-05-01"),
    ("hex", "commit: 0x1f2e"),
]


@pytest.mark.parametrize(("source", "line", "expected"), METRIC_LINES, ids=[c[0] for c in METRIC_LINES])
def test_metric_lines(source, line, expected):
    assert parse_line(line) == expected


@pytest.mark.parametrize(("what", "line"), NOT_METRICS, ids=[c[0] for c in NOT_METRICS])
def test_numeric_looking_lines_are_not_metrics(what, line):
    assert parse_line(line) is None


def test_nan_and_inf_are_values():
    found = parse_line("loss=nan grad_norm=inf")
    assert math.isnan(found["loss"]) and math.isinf(found["grad_norm"])


def test_feed_keeps_an_unfinished_line_for_the_next_chunk():
    parser = LogParser()
    assert parser.feed(b"step=1 lo") == []
    records = parser.feed(b"ss=0.5\nstep=2 loss=0.4\nstep=3 lo")
    assert [(r.step, r.values) for r in records] == [(1, {"loss": 0.5}), (2, {"loss": 0.4})]
    assert [(r.step, r.values) for r in parser.feed(b"ss=0.3\n")] == [(3, {"loss": 0.3})]


def test_lines_without_a_step_take_their_order_among_metric_lines():
    records = LogParser().feed(b"loading\nloss: 0.9\nnothing here\nloss: 0.8\n")
    assert [(r.step, r.values) for r in records] == [(1, {"loss": 0.9}), (2, {"loss": 0.8})]


def test_progress_bar_repaints_are_lines_and_repeats_are_dropped():
    bar = (b"Epoch 0:  10%|# | 1/10 [00:01<00:09, loss=0.9]\r"
           b"Epoch 0:  10%|# | 1/10 [00:01<00:09, loss=0.9]\r"
           b"Epoch 0:  20%|## | 2/10 [00:02<00:08, loss=0.8]\n")
    records = LogParser().feed(bar)
    assert [(r.step, r.values) for r in records] == [(1, {"loss": 0.9}), (2, {"loss": 0.8})]


def test_an_endless_line_is_dropped_not_kept():
    parser = LogParser()
    parser.feed(b"x" * (200 * 1024))
    assert len(parser.partial) == 0
    assert [(r.step, r.values) for r in parser.feed(b"\nloss=1\n")] == [(1, {"loss": 1})]


def test_resuming_continues_the_order():
    assert LogParser(ordinal=41).feed(b"loss=0.1\n")[0].step == 42


@pytest.mark.parametrize(("source", "line", "expected"), METRIC_LINES, ids=[c[0] for c in METRIC_LINES])
def test_the_stream_parser_reads_each_line_as_the_line_parser_does(source, line, expected):
    records = LogParser().feed(line.encode() + b"\n")
    step = expected.get("step", 1)
    assert [(r.step, r.values) for r in records] == [(step, {k: v for k, v in expected.items() if k != "step"})]
