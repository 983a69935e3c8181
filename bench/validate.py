"""Validation speed, each figure beside its floor measured in the same run.

Warm: corpus specs/s through `load_text` (read with positions, validated by pydantic, warnings)
against bare `yaml.compose_all` of the same texts (PyYAML's composer alone: no values, positions or
validation). Cold: `vessl-tui validate one.yaml` against `python -c pass` and against importing
pydantic and PyYAML alone (the floor a pydantic validator cannot go under); and `vessl-tui ps`
against `python -c pass`.

Usage: python bench/validate.py [--rounds N] [--starts N]
Targets: warm >= 0.5x bare compose; cold validate <= 1.3x the pydantic + PyYAML import; cold ps <= 3x
`python -c pass`.
"""

from __future__ import annotations

import argparse
import os
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


def median_wall(cmd: list[str], starts: int) -> float:
    subprocess.run(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)  # warm caches
    times = []
    for _ in range(starts):
        t = time.perf_counter()
        subprocess.run(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


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
    python = median_wall([sys.executable, "-c", "pass"], args.starts)
    floor = median_wall([sys.executable, "-c", "import pydantic, yaml; from pydantic import BaseModel"], args.starts)
    cold = median_wall(console("validate", one), args.starts)
    ps = median_wall(console("ps"), args.starts)
    print(f"cold `vessl-tui validate one.yaml`: {cold * 1000:.0f} ms; `python -c pass`: {python * 1000:.0f} ms "
          f"(ratio {cold / python:.1f}x); importing pydantic + PyYAML alone: {floor * 1000:.0f} ms "
          f"(ratio {cold / floor:.2f}x, target <= 1.3x); medians of {args.starts} starts")
    print(f"cold `vessl-tui ps`: {ps * 1000:.0f} ms; ratio {ps / python:.1f}x `python -c pass` (target <= 3x)")


if __name__ == "__main__":
    main()
