"""Reading spec YAML: microseconds per corpus file for the C reader (core.spec._yamlc, values and
positions), the PyYAML event reader (core.spec.yamllib.parse, the same result), and bare
`yaml.load_all(CSafeLoader)` (values only, no positions), all measured in this run.

Usage: python bench/yaml_read.py [--rounds N]
"""

from __future__ import annotations

import argparse
import sys
import time

import yaml

from _common import REPO

CORPUS = REPO.parent / "shared" / "corpus"


def per_file_us(read, texts: list[str], rounds: int) -> float:
    """The best round's microseconds per file of `read(text)` over `texts`."""
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for text in texts:
            read(text)
        best = min(best, time.perf_counter() - start)
    return best / len(texts) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    texts = [p.read_text(encoding="utf-8") for p in sorted(CORPUS.glob("*/*")) if p.suffix in (".yml", ".yaml")]
    if not texts:
        sys.exit(f"no corpus at {CORPUS}")
    from core.spec import yamllib, yamlpos

    if yamlpos._yamlc is None:
        sys.exit("core.spec._yamlc is not built (pip install -e . with gcc and libyaml-dev)")
    unsure = sum(yamlpos._yamlc.parse(text) is None for text in texts)
    figures = {
        "C reader (yamlpos.parse)": per_file_us(yamlpos.parse, texts, args.rounds),
        "PyYAML event reader (yamllib.parse)": per_file_us(yamllib.parse, texts, args.rounds),
        "bare yaml.load_all(CSafeLoader)": per_file_us(lambda t: list(yaml.load_all(t, Loader=yaml.CSafeLoader)),
                                                       texts, args.rounds),
    }
    ours = figures["C reader (yamlpos.parse)"]
    print(f"{len(texts)} corpus files, {unsure} left to the Python reader")
    for what, us in figures.items():
        print(f"  {what}: {us:.1f} us/file; {us / ours:.2f}x the C reader's time")


if __name__ == "__main__":
    main()
