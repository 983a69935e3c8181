"""Every real-world spec in the shared corpus gets the verdict recorded in EXPECTED.tsv."""

from __future__ import annotations

import pytest

from core.spec import load_file
from tests.conftest import CORPUS


def _expected() -> list[tuple[str, str, str]]:
    table = CORPUS / "EXPECTED.tsv"
    if not table.exists():
        return []
    rows = [line.rstrip("\n").split("\t") for line in table.read_text().splitlines() if not line.startswith("#")]
    return [(r[0], r[1], r[2] if len(r) > 2 else "") for r in rows if len(r) >= 2]


EXPECTED = _expected()
pytestmark = pytest.mark.skipif(not EXPECTED, reason="the shared corpus is not present")


@pytest.mark.parametrize("name, verdict, why", EXPECTED, ids=[r[0] for r in EXPECTED])
def test_corpus_verdict(name, verdict, why):
    docs = load_file(CORPUS / name)
    problems = [p.format() for d in docs for p in d.errors]
    if verdict == "valid":
        assert not problems, problems
        assert all(d.spec is not None for d in docs)
    else:
        assert problems, f"accepted, but dstack says: {why}"
        assert all(p.line >= 1 and p.column >= 1 for d in docs for p in d.errors)


def test_corpus_has_every_format():
    kinds = {d.kind for name, verdict, _ in EXPECTED if verdict == "valid" for d in load_file(CORPUS / name)}
    assert {"vessl-run", "vessl-revision", "dstack-task", "dstack-service", "dstack-dev-environment",
            "dstack-fleet"} <= kinds


def test_renamed_fields_say_what_they_are_called_now():
    messages = {name: " ".join(p.message for d in load_file(CORPUS / name) for p in d.errors)
                for name, verdict, _ in EXPECTED if verdict == "invalid"}
    joined = "\n".join(messages.values())
    for hint in ("`idle_duration`", "`backends`", "`commands`", "under `resources`", "under `gpu`",
                 "replica group", "dev-environment", "`ports`", "takes `init`"):
        assert hint in joined, hint


def test_multi_document_corpus_file_validates_each_document():
    docs = load_file(CORPUS / "dstack/kurisu__nsclc-volume-capstone__.dstack@a4f5c58.yml")
    assert len(docs) == 5
    assert [d.kind for d in docs][:2] == ["dstack-dev-environment", "dstack-task"]
    assert docs[1].spec.python == "3.10"
