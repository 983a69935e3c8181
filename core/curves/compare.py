"""Pure helpers for showing curves: what differs between runs, smoothing, best values, thinning.

    differences({run: settings}) -> {run: "LR=0.1 --lr 0.1"}   only what is not the same in all runs
    smooth(values, weight) -> values                            TensorBoard's exponential moving average
    best(name, series) -> float | None                          min for losses/errors, else max
    thin(steps, values, n) -> (steps, values)                   at most n points, the last one kept
"""

from __future__ import annotations

import math
from collections.abc import Sequence

COMMANDS = "$cmd"
LOWER_IS_BETTER = ("loss", "error", "err", "perplexity", "ppl", "wer", "cer", "mse", "mae", "rmse", "nll")


def differences(settings: dict[str, dict[str, str]], width: int = 40) -> dict[str, str]:
    """For each run, the settings that are not the same in every run: `LR=0.1`, the differing words
    of the commands (`--lr 0.1`), `tags=a,b`; at most `width` characters each. `settings`: run ->
    its env values (as `Engine.run_env` gives them), `$cmd` its commands, `$tags` its tags."""
    keys = sorted({key for values in settings.values() for key in values}, key=lambda k: (k.startswith("$"), k))
    varying = [k for k in keys if len({values.get(k) for values in settings.values()}) > 1]
    words = _differing_words({run: values.get(COMMANDS, "") for run, values in settings.items()})
    labels: dict[str, str] = {}
    for run, values in settings.items():
        parts = []
        for key in varying:
            if key == COMMANDS:
                if words.get(run):
                    parts.append(words[run])
                continue
            parts.append(f"{key.removeprefix('$')}={values.get(key, '-')}")
        label = " ".join(parts)
        labels[run] = label if len(label) <= width else label[: width - 1] + "…"
    return labels


def _differing_words(commands: dict[str, str]) -> dict[str, str]:
    """The words of each command that not every command has at that position (with the flag
    before a differing value: `--lr 0.1`)."""
    split = {run: text.split() for run, text in commands.items()}
    if len({len(words) for words in split.values()}) != 1:
        common = set.intersection(*(set(words) for words in split.values())) if split else set()
        return {run: " ".join(w for w in words if w not in common) for run, words in split.items()}
    result: dict[str, list[str]] = {run: [] for run in split}
    length = len(next(iter(split.values()), []))
    for index in range(length):
        if len({words[index] for words in split.values()}) == 1:
            continue
        for run, words in split.items():
            before = words[index - 1] if index else ""
            result[run].append(f"{before} {words[index]}" if before.startswith("-") else words[index])
    return {run: " ".join(words) for run, words in result.items()}


def smooth(values: Sequence[float], weight: float = 0.6) -> list[float]:
    """Exponential moving average with TensorBoard's debiasing; NaN points stay NaN."""
    out: list[float] = []
    last, num = 0.0, 0
    for value in values:
        if math.isnan(value) or math.isinf(value):
            out.append(value)
            continue
        last = last * weight + (1 - weight) * value
        num += 1
        out.append(last / (1 - weight**num) if weight else value)
    return out


def lower_is_better(name: str) -> bool:
    leaf = name.lower().replace("/", "_").replace("-", "_")
    return any(leaf == word or leaf.endswith("_" + word) or leaf.startswith(word + "_") or word in leaf.split("_")
               for word in LOWER_IS_BETTER)


def best(name: str, low: float | None, high: float | None) -> float | None:
    """The better extreme of a metric: its minimum for losses and errors, else its maximum."""
    return low if lower_is_better(name) else high


def thin(steps: Sequence[float], values: Sequence[float], limit: int) -> tuple[list[float], list[float]]:
    """At most `limit` evenly spaced points of a series, the last one always kept."""
    count = len(steps)
    if count <= limit or limit < 2:
        return list(steps), list(values)
    every = math.ceil(count / (limit - 1))
    picked = list(range(0, count, every))
    if picked[-1] != count - 1:
        picked.append(count - 1)
    return [steps[i] for i in picked], [values[i] for i in picked]
