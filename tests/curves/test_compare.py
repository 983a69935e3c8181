"""Pure helpers of the plots: what differs between runs, smoothing, best values, thinning."""

from __future__ import annotations

import math

from core.curves.compare import best, differences, smooth, thin


def test_differences_name_env_values_command_words_and_tags():
    runs = {
        "a": {"LR": "0.1", "SEED": "1", "$cmd": "python train.py --lr 0.1 --bs 32"},
        "b": {"LR": "0.5", "SEED": "1", "$cmd": "python train.py --lr 0.5 --bs 32", "$tags": "long"},
    }
    assert differences(runs) == {"a": "LR=0.1 --lr 0.1 tags=-", "b": "LR=0.5 --lr 0.5 tags=long"}


def test_differences_of_identical_runs_are_empty_and_long_ones_cut():
    assert differences({"a": {"X": "1"}, "b": {"X": "1"}}) == {"a": "", "b": ""}
    cut = differences({"a": {"X": "1" * 80}, "b": {"X": "2"}}, width=20)["a"]
    assert len(cut) == 20 and cut.endswith("…")


def test_commands_of_different_lengths_show_the_words_not_shared():
    runs = {"a": {"$cmd": "train --fast"}, "b": {"$cmd": "train"}}
    assert differences(runs) == {"a": "--fast", "b": ""}


def test_smoothing_is_debiased_and_keeps_nan():
    assert smooth([1.0, 1.0, 1.0]) == [1.0, 1.0, 1.0]
    out = smooth([0.0, float("nan"), 10.0], 0.5)
    assert out[0] == 0.0 and math.isnan(out[1]) and 0 < out[2] < 10


def test_best_is_the_minimum_for_losses_and_errors_else_the_maximum():
    assert best("val_loss", 0.1, 2.0) == 0.1
    assert best("train/loss", 0.1, 2.0) == 0.1
    assert best("eval_wer", 0.1, 2.0) == 0.1
    assert best("accuracy", 0.1, 0.9) == 0.9
    assert best("lossless_ratio", 0.1, 0.9) == 0.9


def test_thin_keeps_first_and_last_and_at_most_the_limit():
    steps, values = thin(list(range(1000)), list(range(1000)), 50)
    assert len(steps) <= 50 and steps[0] == 0 and steps[-1] == 999 and values == steps
