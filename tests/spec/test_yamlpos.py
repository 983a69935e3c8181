"""The YAML reader: PyYAML's values, with the line and column of every key and value."""

from __future__ import annotations

import pytest
import yaml

from core.spec import yamlpos
from tests.conftest import CORPUS

TRICKY = [
    "a: 0x1f\nb: 1_000\nc: [0o17, 017, 1:20, .inf, -.INF, 1e3, yes, No, ~, null, '']\n",
    "x: !!int '12'\ny: !!str 12\nw: ! 12\n",
    "1: one\ntrue: yes\nnull: nothing\n3.5: float key\n",
    "---\n---\nname: a\n---\n...\n",
    "- a\n- [b, {c: d}]\n",
    "just a string",
    "'quoted'",
    "run: |\n  echo one\n  echo two\nenv: {A: '1', B: \"two\"}\n",
    "a: &x {b: 1}\nresources: *x\n",
    "base: &b {cluster: local}\nresources:\n  <<: *b\n  cpu: 2\n",
]
CORPUS_FILES = sorted(p for p in CORPUS.glob("*/*") if p.suffix in (".yml", ".yaml")) if CORPUS.exists() else []


def values(text: str) -> list:
    docs = yamlpos.parse(text)
    assert not any(d.error for d in docs), [d.error for d in docs]
    return [d.value for d in docs]


@pytest.mark.parametrize("text, line, column", [
    ("name: x\nrun: echo\nname: y\n", 3, 1),
    ("resources:\n  cpu: 1\n  gpu: 1\n  cpu: 2\n", 4, 3),
    ("run:\n  - command: a\n    command: b\n", 3, 5),
])
def test_a_key_given_twice_is_an_error_at_the_second(text: str, line: int, column: int):
    """PyYAML keeps the last of two equal keys in silence; a spec reader must not."""
    (doc,) = yamlpos.parse(text)
    assert doc.error is not None and doc.error[:2] == (line, column)
    assert "is given twice in this mapping" in doc.error[2]


def test_keys_equal_in_python_but_not_in_yaml_are_two_keys():
    assert yamlpos.parse("1: one\ntrue: yes\n1.0: float\n")[0].error is None


@pytest.mark.parametrize("text", TRICKY)
def test_values_are_what_pyyaml_loads(text: str):
    assert values(text) == [v for v in yaml.safe_load_all(text) if v is not None]


def test_timestamps_binary_and_unknown_tags_keep_the_text_written():
    assert values("d: 2001-12-14\nb: !!binary aGVsbG8=\nz: !foo bar\ne: =\n")[0] == {
        "d": "2001-12-14", "b": "aGVsbG8=", "z": "bar", "e": "="}


def test_every_key_and_value_has_its_position():
    (doc,) = yamlpos.parse("name: x\nresources:\n  cluster: local\nports:\n  - 8000\n  - {port: 9000}\n")
    assert doc.keys == {("name",): (1, 1), ("resources",): (2, 1), ("resources", "cluster"): (3, 3),
                        ("ports",): (4, 1), ("ports", 1, "port"): (6, 6)}
    assert doc.values[("ports", 1, "port")] == (6, 12)
    assert doc.values[("ports", 0)] == (5, 5)
    assert doc.pos(("resources", "cluster"), prefer_key=True) == (3, 3)
    assert doc.pos(("resources", "missing")) == (3, 3)  # the nearest ancestor: the mapping's value


def test_what_an_alias_or_merge_brings_in_points_at_where_it_is_used():
    (doc,) = yamlpos.parse("base: &b {cluster: local}\nresources:\n  <<: *b\n  cpu: 2\n")
    assert doc.value["resources"] == {"cluster": "local", "cpu": 2}
    assert doc.pos(("resources", "cluster")) == (3, 3)


def test_each_document_has_its_own_text_and_start():
    docs = yamlpos.parse("name: a\n---\n# c\nname: b\nrun: x\n")
    assert [(d.index, d.start, d.text) for d in docs] == [(0, (1, 1), "name: a\n"),
                                                          (1, (4, 1), "name: b\nrun: x\n")]


@pytest.mark.parametrize("text, where, fragment", [
    ("name: [\n", (2, 1), "YAML syntax error"),
    ("\tname: x\n", (1, 1), "a tab character cannot indent YAML"),
    ("name: x\nimage: \x07\n", (2, 8), "control character (#x0007)"),
    ("name: x\nimage: \ud800\n", (2, 8), "lone surrogate (U+D800)"),
    ("[" * 300 + "]" * 300, (1, 1), "nests deeper than 200 levels"),
    ("a: &a [*a]\n", (1, 1), ""),
])
def test_unreadable_input_is_one_positioned_error(text, where, fragment):
    docs = yamlpos.parse(text)
    assert docs[-1].error is not None and docs[-1].error[:2] == where and fragment in docs[-1].error[2], docs
    assert docs[-1].value is None


def test_a_good_document_before_a_broken_one_is_kept():
    docs = yamlpos.parse("name: ok\n---\nname: [broken\n")
    assert docs[0].value == {"name": "ok"} and docs[1].error


@pytest.mark.skipif(not CORPUS_FILES, reason="the shared corpus (../shared/corpus) is not present in this clone")
def test_the_pure_python_reader_reads_the_corpus_as_libyaml_does(monkeypatch):
    texts = [p.read_text(encoding="utf-8") for p in CORPUS_FILES] + TRICKY
    with_libyaml = [yamlpos.parse(t) for t in texts]
    monkeypatch.setattr(yamlpos, "_Loader", yaml.SafeLoader)
    assert [yamlpos.parse(t) for t in texts] == with_libyaml
