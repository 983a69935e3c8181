"""Validation speed, each figure beside its floor measured in the same run.

Warm: corpus specs/s through `load_text` (read with positions, validated by pydantic, warnings)
against bare `yaml.compose_all` of the same texts (PyYAML's composer alone: no values, positions or
validation). Cold: `vessl-tui validate one.yaml` against `python -c pass` and against importing
pydantic and PyYAML alone (the floor a pydantic validator cannot go under); and `vessl-tui ps`
against `python -c pass`. The cold starts take turns and are reported as wall and as CPU time (user +
system), the steadier figure on a shared machine.

Usage: python bench/validate.py [--rounds N] [--starts N]
Targets: warm >= 0.5x bare compose; cold validate <= 1.3x the pydantic + PyYAML import; cold ps <= 3x
`python -c pass`.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO.parent / "shared" / "corpus"
sys.path.insert(0, str(REPO))


#: what pydantic imports lazily when models are defined and first validate (the floor above does not)
USED = ("import yaml; from pydantic import BaseModel, Field, BeforeValidator, AfterValidator, ConfigDict, "
        "Discriminator, Tag, WithJsonSchema, TypeAdapter, ValidationError, model_validator; "
        "import pydantic.plugin._loader")


def corpus_texts() -> list[tuple[str, str]]:
    files = sorted(p for p in CORPUS.glob("*/*") if p.suffix in (".yml", ".yaml"))
    return [(str(p), p.read_text(encoding="utf-8")) for p in files]


def throughput(texts: list[tuple[str, str]], rounds: int) -> tuple[float, float, float]:
    """(specs/s validating, specs/s validating and building every RunSpec, specs/s of bare
    `yaml.compose_all`), each the median over `rounds` passes, the three taking turns so that all
    see the same machine."""
    import yaml

    from core.spec import load_text

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    for name, text in texts:  # warm-up: builds the models once, as a long-lived process would
        [doc.spec for doc in load_text(text, name)]
    count = sum(len(load_text(text, name)) for name, text in texts)
    validating, building, baseline = [], [], []
    for _ in range(rounds):
        start = time.perf_counter()
        for name, text in texts:
            load_text(text, name)
        validating.append(count / (time.perf_counter() - start))
        start = time.perf_counter()
        for name, text in texts:
            for doc in load_text(text, name):
                doc.spec
        building.append(count / (time.perf_counter() - start))
        start = time.perf_counter()
        for _, text in texts:
            list(yaml.compose_all(text, Loader=loader))
        baseline.append(count / (time.perf_counter() - start))
    return statistics.median(validating), statistics.median(building), statistics.median(baseline)


def cold_starts(commands: dict[str, list[str]], starts: int) -> dict[str, tuple[float, float]]:
    """name -> (median wall seconds, median CPU seconds) of starting each command `starts` times,
    the commands taking turns so that all see the same machine (CPU time, user + system, is the
    steadier figure on a busy machine)."""
    walls: dict[str, list[float]] = {name: [] for name in commands}
    cpus: dict[str, list[float]] = {name: [] for name in commands}
    for round_ in range(starts + 1):
        for name, cmd in commands.items():
            before, t = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
            subprocess.run(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
            wall, after = time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN)
            if round_:  # the first round warms the OS file cache
                walls[name].append(wall)
                cpus[name].append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return {name: (statistics.median(walls[name]), statistics.median(cpus[name])) for name in commands}


def console(*args: str) -> list[str]:
    script = shutil.which("vessl-tui") or str(Path(sys.executable).parent / "vessl-tui")
    return [script, *args] if os.path.exists(script) else [sys.executable, "-m", "core.cli.main", *args]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--starts", type=int, default=15)
    args = parser.parse_args()
    texts = corpus_texts()
    if not texts:
        sys.exit(f"no corpus at {CORPUS}")
    ours, built, base = throughput(texts, args.rounds)
    print(f"warm, {len(texts)} corpus files: validate {ours:,.0f} specs/s; bare yaml.compose_all {base:,.0f} "
          f"specs/s; ratio {ours / base:.2f}x (target >= 0.5x; medians of {args.rounds} passes)")
    print(f"  validate and build every RunSpec too: {built:,.0f} specs/s; ratio {built / base:.2f}x")

    os.environ["VESSL_TUI_HOME"] = tempfile.mkdtemp(prefix="vessl-bench-")
    one = next(name for name, _ in texts if name.endswith("vessl-ai__vessl-training-recipes__SFT__run.yaml"))
    figures = cold_starts({
        "pass": [sys.executable, "-c", "pass"],
        "floor": [sys.executable, "-c", "import pydantic, yaml; from pydantic import BaseModel"],
        "used": [sys.executable, "-c", USED],
        "validate": console("validate", one),
        "ps": console("ps"),
    }, args.starts)
    for i, what in enumerate(("wall", "CPU")):
        ms = {name: pair[i] * 1000 for name, pair in figures.items()}
        print(f"cold, {what} (medians of {args.starts} starts, taking turns): `vessl-tui validate one.yaml` "
              f"{ms['validate']:.0f} ms; `python -c pass` {ms['pass']:.0f} ms (ratio {ms['validate'] / ms['pass']:.1f}x); "
              f"importing pydantic + PyYAML alone {ms['floor']:.0f} ms (ratio {ms['validate'] / ms['floor']:.2f}x, "
              f"target <= 1.3x)")
        print(f"  for scale: importing PyYAML and the pydantic names the models use (Field, the validators, "
              f"TypeAdapter, its plugin loader), which pydantic imports lazily: {ms['used']:.0f} ms "
              f"(ratio {ms['validate'] / ms['used']:.2f}x)")
        print(f"  cold `vessl-tui ps`: {ms['ps']:.0f} ms; ratio {ms['ps'] / ms['pass']:.1f}x `python -c pass` "
              "(target <= 3x)")


if __name__ == "__main__":
    main()
