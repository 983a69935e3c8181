"""The one-pass event reader gives exactly what the composing reader gives, for every input."""

from __future__ import annotations

import pytest

from core.spec import yamllib, yamlpos
from tests.conftest import CORPUS

TRICKY = [
    "name: x\nrun: echo\nname: y\n",  # a repeated key: the last one wins
    "a: 0x1f\nb: 1_000\nc: [0o17, 017, 1:20, .inf, -.INF, .nan, 1e3, 2001-12-14, yes, No, ~, null, '', =]\n",
    "x: !!int '12'\ny: !!str 12\nz: !foo bar\nw: ! 12\n",
    "1: one\ntrue: yes\nnull: nothing\n3.5: float key\n",
    "---\n---\nname: a\n---\n...\n",
    "- a\n- [b, {c: d}]\n",
    "just a string",
    "~",
    "'quoted'",
    "name: [\n",
    "\tname: x\n",
    "name: x\nimage: \x07\n",
    "name: ok\n---\nname: [broken\n",
    "run: |\n  echo one\n  echo two\nenv: {A: '1', B: \"two\"}\n",
    "a: &x {b: 1}\nresources: *x\n",
    "base: &b {cluster: local}\nresources:\n  <<: *b\n  cpu: 2\n",
    "? [a, b]\n: c\n",
    "[" * 300 + "]" * 300,
    "a: &a [*a]\n",
]


def both(text: str):
    lines = text.splitlines(keepends=True)
    try:
        fast = yamllib._parse_events(text, lines)
    except yamllib._Unusual:
        fast = None  # read by the composing path, as parse() does
    return fast, yamllib._parse_composed(text, lines)


def same(a: yamlpos.ParsedDocument, b: yamlpos.ParsedDocument) -> None:
    assert (a.index, a.value, a.keys, a.values, a.named, a.text, a.start, a.error) == \
           (b.index, b.value, b.keys, b.values, b.named, b.text, b.start, b.error)


@pytest.mark.parametrize("text", TRICKY)
def test_tricky_inputs_read_alike(text: str):
    fast, composed = both(text)
    if fast is not None:
        assert len(fast) == len(composed)
        for a, b in zip(fast, composed):
            same(a, b)
    assert yamlpos.parse(text) == composed


def test_unusual_streams_take_the_composing_path():
    for text in ("a: &x 1\nb: *x\n", "<<: {a: 1}\n", "? [a]\n: b\n", "[" * 300 + "]" * 300):
        with pytest.raises(yamllib._Unusual):
            yamllib._parse_events(text, text.splitlines(keepends=True))


def test_corpus_reads_alike():
    files = sorted(p for p in CORPUS.glob("*/*") if p.suffix in (".yml", ".yaml"))
    assert files
    for path in files:
        text = path.read_text(encoding="utf-8")
        fast, composed = both(text)
        assert fast is not None, path
        assert len(fast) == len(composed), path
        for a, b in zip(fast, composed):
            same(a, b)
