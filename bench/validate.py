"""Validation speed: specs/s over the whole corpus in one process, and the cold start of
`vessl-tui validate one.yaml` against `python -c pass`, both measured in this run.

Usage: python bench/validate.py [--rounds N] [--starts N]
Targets: >= 5,000 specs/s; cold validate <= 3x `python -c pass`.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO.parent / "shared" / "corpus"
sys.path.insert(0, str(REPO))


def corpus_texts() -> list[tuple[str, str]]:
    files = sorted(p for p in CORPUS.glob("*/*") if p.suffix in (".yml", ".yaml"))
    return [(str(p), p.read_text(encoding="utf-8")) for p in files]


def throughput(texts: list[tuple[str, str]], rounds: int) -> tuple[float, float, float]:
    """(our specs/s validating, our specs/s validating and building every RunSpec, baseline
    specs/s), each the median over `rounds` passes over the corpus, the three taking turns so that
    all see the same machine. Validating gives every document's problems (what `vessl-tui validate`
    and the editor need; a RunSpec is built when first read); the second figure also reads each
    document's RunSpec (what `run` needs). The baseline is libyaml's `CSafeLoader` alone: parsing
    with no positions, no validation, no normalization."""
    import yaml

    from core.spec import load_text

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
            list(yaml.load_all(text, Loader=yaml.CSafeLoader))
        baseline.append(count / (time.perf_counter() - start))
    return statistics.median(validating), statistics.median(building), statistics.median(baseline)


def _median_wall(cmd: list[str], starts: int) -> float:
    times = []
    for _ in range(starts):
        t = time.perf_counter()
        subprocess.run(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def cold_start(spec: str, starts: int) -> tuple[float, float]:
    """Median wall seconds of `vessl-tui validate spec` and of `python -c pass`."""
    script = shutil.which("vessl-tui")
    validate = [script, "validate", spec] if script else [sys.executable, "-m", "core.cli.main", "validate", spec]
    _median_wall(validate, 1)  # warm the OS file cache
    return _median_wall(validate, starts), _median_wall([sys.executable, "-c", "pass"], starts)


AVOIDED = {  # what a cold validate does not import (a test checks it), each alone, for scale
    "import click": "import click",
    "import yaml": "import yaml",
    "import pydantic (BaseModel)": "from pydantic import BaseModel",
}


def _c_reader() -> bool:
    from core.spec import yamlpos

    return yamlpos._yamlc is not None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--starts", type=int, default=15)
    args = parser.parse_args()
    texts = corpus_texts()
    if not texts:
        sys.exit(f"no corpus at {CORPUS}")
    ours, built, base = throughput(texts, args.rounds)
    reader = "C reader over libyaml" if _c_reader() else "PyYAML reader (the C reader is not built)"
    print(f"validate corpus ({reader}): {ours:,.0f} specs/s (target >= 5,000); "
          f"bare libyaml parsing alone (CSafeLoader): {base:,.0f} specs/s; ratio {ours / base:.2f}x "
          f"(medians of {args.rounds} passes each)")
    print(f"  validate and build every RunSpec too: {built:,.0f} specs/s; ratio {built / base:.2f}x")
    one = next(name for name, _ in texts if name.endswith("vessl-ai__vessl-training-recipes__SFT__run.yaml"))
    cold, python = cold_start(one, args.starts)
    print(f"cold `vessl-tui validate one.yaml`: {cold * 1000:.0f} ms; `python -c pass`: {python * 1000:.0f} ms; "
          f"ratio {cold / python:.1f}x (target <= 3x)")
    for what, code in AVOIDED.items():
        took = _median_wall([sys.executable, "-c", code], args.starts)
        print(f"  not imported by it, {what} alone: {took * 1000:.0f} ms; ratio {took / python:.1f}x `python -c pass`")


if __name__ == "__main__":
    main()
