"""Specs written wrong the way users write them wrong (VESSL and dstack): each file under `broken/`
ends with `# expect: FILE:LINE:COL: severity: PATH: message` lines, and the validator must report
exactly those problems, in that order, and nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.spec import load_file

BROKEN = Path(__file__).parent / "broken"
FILES = sorted(p for p in BROKEN.iterdir() if p.suffix in (".yml", ".yaml"))
EXPECT = "# expect: "


def test_there_are_broken_specs_of_both_formats():
    assert sum(p.name.startswith("vessl-") for p in FILES) >= 5
    assert sum(p.name.startswith("dstack-") for p in FILES) >= 5


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_broken_spec_reports_exactly_the_expected_problems(path, monkeypatch):
    expected = [line[len(EXPECT):] for line in path.read_text().splitlines() if line.startswith(EXPECT)]
    assert expected, f"{path.name} has no `{EXPECT}` lines"
    monkeypatch.chdir(BROKEN)
    docs = load_file(path.name)
    assert [p.format() for d in docs for p in d.problems] == expected
    assert not all(d.valid for d in docs)
