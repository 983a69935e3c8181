"""The C reader (core.spec._yamlc) gives exactly what the Python reader gives, or None."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.spec import yamllib, yamlpos, yamltypes
from tests.conftest import CORPUS, REPO
from tests.spec.test_yamlpos import TRICKY


def _buildable() -> bool:
    """Whether this machine has what setup.py needs to build the extension."""
    headers = Path(sysconfig.get_paths()["include"]) / "Python.h"
    return bool(shutil.which("gcc")) and headers.exists() and Path("/usr/include/yaml.h").exists()


REQUIRED = os.environ.get("VESSL_TUI_REQUIRE_YAMLC") == "1" or _buildable()
_yamlc = yamlpos._yamlc
if _yamlc is None and not REQUIRED:  # pragma: no cover - a machine without gcc or libyaml-dev
    pytest.skip("core.spec._yamlc is not built here (no gcc, Python headers or libyaml-dev)",
                allow_module_level=True)

CORPUS_FILES = sorted(p for p in CORPUS.glob("*/*") if p.suffix in (".yml", ".yaml"))

# Read by the C reader; each must equal the Python reader's result.
READ_IN_C = [
    "n: " + "9" * 4001 + "\nm: -" + "9" * 3999 + "\n",  # past int()'s digits: the text
    "name: café\ndescription: 日本語のテキスト\nタグ: [α, β]\nemoji: 🚀 x\n",
    "'quoted key': 1\n\"double\": 2\n'a.b': 3\n\"/code/\": x\n? plain\n: explicit\n",
    "resources:\n  nvidia.com/gpu: 2\n  cpu: 4\n  'with space': x\n  1x: y\n  _ok-key: z\n",
    "ports: [8000, 8001, {name: x, port: 9}]\nenv: {A: '1', B: \"two\", C: }\nempty: []\nnone: {}\n",
    "a: |\n  one\n  two\nb: |-\n  three\nc: >\n  folded\n  text\n\n  para\nd: |+\n  keep\n\ne: x\n",
    "run: this is a\n  multi-line plain\n  scalar\n\n  with a break\nnext: 1\n",
    "---\n---\nname: a\n---\n...\n---\nname: b\n--- ~\n--- null\n---\n- c\n",
    "# leading\nname: x  # trailing\n# between\nlist:  # after key\n  - a  # item\n  # inside\n  - b\n# end\n",
    "name: x\r\nrun: |\r\n  echo a\r\n  echo b\r\nports:\r\n  - 80\r\n",
    "name: x\rimage: y\r",
    "cmd: echo\ta\tb\nquoted: \"tab\\there\"\n",
    "\ufeffname: with a BOM\n",
    "",
    "# only a comment\n# and another\n",
    "just a root scalar",
    "42",
    "- a\n- b:\n    c: [1, 2]\n- - nested\n  - list\n",
    "a:\nb: ~\nc: null\nd: Null\ne: ''\nf: yes\ng: No\nh: on\ni: OFF\nj: 3.10\nk: -7\nl: +5\nm: 007x\n",
    "1: int key\n2.5: float key\ntrue: bool key\nnull: null key\n~: tilde\n-3: negative\n",
    "version: 1.0.0\ntime: 2001-12-14\nsize: 24GB..\nrange: 1..2\nhalf: .5\nexp: 1.5e+3\ndot: .\n",
    "a: {b: {c: {d: [[[1]]]}}}\n",
    "a: \"line\u2028sep\"\nw: \"nel\x85x\"\nz: 'para\u2029graph'\nv: \"esc\\u2028aped\"\n",
    "key: value with :colon, a:b\nurl: http://example.com:8080/x?a=b#frag\n",
    "a: 1\na: 2\nb: {x: 1, x: 2}\n",
    "list:\n- unindented\n- items\nmap:\n  k: v\n",
    "a: 'it''s'\nb: \"esc \\\" \\\\ \\n \\x41 \\u00e9\"\nc: 'multi\n  line'\n",
    "%YAML 1.1\n---\nname: with a directive\n",
    "name: x\n...\n",
    "? a\n? b\n",
    "\"a\\n\": {\"\\n\": 1, \"b\\n\\n\": 2, \"é\": 3, \"-x\": 4, \"x y\": 5}\n",
    "[a, b, c]",
    "{a: 1}",
    "a: ' padded '\nb: \"\"\nc: -x\nd: --x\ne: '-'\n",
]

# Left to the Python reader (None), which reports errors and reads anchors, aliases and tags.
LEFT_TO_PYTHON = [
    "name: [\n",
    "\tname: x\n",
    "x\u2028y: 1\n",
    "name: x\nimage: \x07\n",
    "name: ok\n---\nname: [broken\n",
    "a: &x 1\nb: *x\n",
    "<<: {a: 1}\n",
    "a: 0x1f\n",
    "a: 1_000\n",
    "a: .inf\n",
    "x: !!str 12\n",
    "x: ! 12\n",
    "!!map {a: 1}\n",
    "? [a]\n: b\n",
    "[" * 300 + "]" * 300,
]


def c_read(text: str) -> list[yamlpos.ParsedDocument] | None:
    assert _yamlc is not None, ("core.spec._yamlc is not built although gcc, Python headers and "
                                "libyaml-dev are here; run `pip install -e .` and read its build output")
    read = _yamlc.parse(text)
    return None if read is None else [yamlpos.ParsedDocument(*fields) for fields in read]


def python_read(text: str) -> list[yamlpos.ParsedDocument]:
    return yamllib.parse(text)


def assert_same(ours: list, theirs: list) -> None:
    """Equal documents, including value types (True is not 1) and the order of every dict."""
    assert ours == theirs
    assert repr(ours) == repr(theirs)


def test_the_extension_is_built_and_used():
    assert _yamlc is not None, ("core.spec._yamlc is not built although this machine can build it "
                                "(or VESSL_TUI_REQUIRE_YAMLC=1); run `pip install -e .` and read its output")
    assert (_yamlc.MAX_DEPTH, _yamlc.MAX_NODES) == (yamlpos.MAX_DEPTH, yamlpos.MAX_NODES)
    docs = yamlpos.parse("name: x\n")
    assert docs == c_read("name: x\n")


def test_every_corpus_file_is_read_in_c_alike():
    assert CORPUS_FILES
    for path in CORPUS_FILES:
        text = path.read_text(encoding="utf-8")
        ours = c_read(text)
        assert ours is not None, path
        assert_same(ours, yamllib._parse_events(text, text.splitlines(keepends=True)))


@pytest.mark.parametrize("text", READ_IN_C)
def test_edge_cases_are_read_in_c_alike(text: str):
    ours = c_read(text)
    assert ours is not None
    assert_same(ours, python_read(text))


@pytest.mark.parametrize("text", LEFT_TO_PYTHON + TRICKY)
def test_unsure_streams_are_left_to_python(text: str):
    ours = c_read(text)
    if text in LEFT_TO_PYTHON:
        assert ours is None
    if ours is not None:
        assert_same(ours, python_read(text))
    assert yamlpos.parse(text) == python_read(text)


@pytest.mark.parametrize("brk", ["\n", "\r\n", "\r", "\x85", "\u2028", "\u2029"])
@pytest.mark.parametrize("width", range(0, 18, 3))
def test_line_breaks_anywhere_cut_lines_as_python_does(brk: str, width: int):
    text = f"# {'c' * width}{brk}{'k' * width}a: \"x{brk}y\"{brk}b: 'q{brk}{brk}r'{brk}c: [1, {brk} 2]{brk}"
    text += f"---{brk}# {'d' * width}{brk}- {'v' * width}{brk}"
    ours = c_read(text)
    assert ours is not None and len(ours) == 2
    assert_same(ours, python_read(text))


@pytest.mark.parametrize("depth", [yamlpos.MAX_DEPTH - 1, yamlpos.MAX_DEPTH, yamlpos.MAX_DEPTH + 1])
def test_nesting_up_to_the_limit_is_read_in_c(depth: int):
    text = "[" * depth + "]" * depth
    ours = c_read(text)
    assert (ours is None) == (depth > yamlpos.MAX_DEPTH)
    if ours is not None:
        assert_same(ours, python_read(text))


def test_more_values_than_the_limit_are_left_to_python():
    assert c_read("[" + "0, " * yamlpos.MAX_NODES + "0]") is None
    (doc,) = c_read("[" + "0, " * (yamlpos.MAX_NODES - 2) + "0]")
    assert len(doc.value) == yamlpos.MAX_NODES - 1


def test_errors_still_come_back_with_their_message():
    (doc,) = yamlpos.parse("name: [\n")
    assert doc.error and doc.error[2].startswith("YAML syntax error")


def test_a_lone_surrogate_is_a_positioned_problem():
    assert c_read("name: x\nimage: \ud800\n") is None
    (doc,) = yamlpos.parse("name: x\nimage: \ud800\n")
    assert doc.error == (2, 8, "the text holds a lone surrogate (U+D800), which no file can hold; "
                               "save the spec as UTF-8 text")


def test_without_the_extension_the_python_reader_reads(monkeypatch: pytest.MonkeyPatch):
    text = READ_IN_C[0]
    with_c = yamlpos.parse(text)
    monkeypatch.setattr(yamlpos, "_yamlc", None)
    assert_same(yamlpos.parse(text), with_c)


def test_reading_a_plain_spec_imports_no_pyyaml():
    code = ("import sys; from core.spec import yamlpos; docs = yamlpos.parse('name: x\\nports: [80]\\n'); "
            "assert docs[0].value == {'name': 'x', 'ports': [80]}; print('yaml' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_no_leak_and_no_memory_error_under_the_debug_allocator(tmp_path: Path):
    """Every path (documents, errors, unsure streams) under PYTHONMALLOC=debug, which aborts on a
    bad free or overrun; the resident size stays flat over repeated reads of the corpus."""
    code = """
import json, resource, sys
from pathlib import Path
from core.spec import _yamlc
texts = [p.read_text(encoding="utf-8") for p in sorted(Path(sys.argv[1]).glob("*/*.y*ml"))]
texts += json.loads(Path(sys.argv[2]).read_text())
def rss():
    return int(open("/proc/self/statm").read().split()[1]) * resource.getpagesize()
for _ in range(3):
    for t in texts: _yamlc.parse(t)
before = rss()
for _ in range(12):
    for t in texts: _yamlc.parse(t)
print(rss() - before)
"""
    extra = tmp_path / "texts.json"
    extra.write_text(json.dumps(READ_IN_C + LEFT_TO_PYTHON + TRICKY + ["a: \ud800"]))
    env = {**os.environ, "PYTHONMALLOC": "debug"}
    out = subprocess.run([sys.executable, "-c", code, str(CORPUS), str(extra)],
                         cwd=REPO, capture_output=True, text=True, env=env, timeout=240)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout) < 1024 * 1024


# ---------------------------------------------------------------- generated input

_key = st.one_of(st.text(max_size=12), st.from_regex(r"[a-z_][a-z0-9_./-]{0,10}", fullmatch=True),
                 st.integers(-1000, 1000))
_scalar = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30), st.sampled_from(["yes", "No", "~", "1.0", "007", "0x1f", "1:20", "<<", "=",
                                           "a: b", "- x", "#", "é", "\t", " lead", "trail "]),
)
_data = st.recursive(_scalar, lambda inner: st.one_of(st.lists(inner, max_size=5),
                                                      st.dictionaries(_key, inner, max_size=5)),
                     max_leaves=25)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=_data, flow=st.sampled_from([False, True, None]), unicode=st.booleans(),
       width=st.sampled_from([20, 80, 1000]))
def test_dumped_data_is_read_in_c_alike(data, flow, unicode, width):
    text = yaml.safe_dump(data, default_flow_style=flow, allow_unicode=unicode, width=width, sort_keys=False)
    ours = c_read(text)
    assert ours is not None, text
    assert_same(ours, python_read(text))
    assert [doc.value for doc in ours] == [value for value in yaml.safe_load_all(text) if value is not None]


def _mutated(text: str, rng: random.Random) -> str:
    lines = text.splitlines(keepends=True) or [""]
    for _ in range(rng.randint(1, 4)):
        i = rng.randrange(len(lines))
        how = rng.randrange(6)
        if how == 0 and len(lines) > 1:
            del lines[i]
        elif how == 1:
            lines.insert(i, lines[rng.randrange(len(lines))])
        elif how == 2:
            lines[i] = " " * rng.randint(1, 4) + lines[i]
        elif how == 3:
            lines[i] = lines[i].lstrip(" ")
        elif how == 4:
            at = rng.randint(0, len(lines[i]))
            lines[i] = lines[i][:at] + rng.choice(["- ", ": ", "#", "'", '"', "[", "{", "&a ", "*a", "!t ",
                                                    "é", "\t", "\r\n", "---\n", "? ", "|\n"]) + lines[i][at:]
        else:
            lines[i] = lines[i].replace(":", "", 1)
    return "".join(lines)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(which=st.integers(0, 10**6), seed=st.integers(0, 2**32))
def test_mutated_corpus_files_read_alike_or_are_left_to_python(which: int, seed: int):
    text = _mutated(CORPUS_FILES[which % len(CORPUS_FILES)].read_text(encoding="utf-8"), random.Random(seed))
    ours = c_read(text)
    if ours is not None:
        assert_same(ours, python_read(text))


_plain_like = st.one_of(
    st.from_regex(r"[-+]?[0-9_]{0,6}(\.[0-9_]{0,4})?([eE][-+]?[0-9]{1,3})?", fullmatch=True),
    st.from_regex(r"[-+]?(0[xob])?[0-9a-fA-F_:]{1,8}", fullmatch=True),
    st.from_regex(r"[-+]?\.?(inf|Inf|INF|nan|NaN|NAN|[0-9]+)", fullmatch=True),
    st.sampled_from(sorted({w for w in ("yes", "Yes", "YES", "no", "No", "NO", "true", "True", "TRUE",
                                        "false", "False", "FALSE", "on", "On", "ON", "off", "Off", "OFF",
                                        "y", "Y", "n", "N", "null", "Null", "NULL", "~", "nULL", "tRUE",
                                        "<<", "<", "=", "==", "2001-12-14", "2001-12-14 21:59:43.10 -5")})),
    st.text(alphabet="yYnNtTfFoO0123456789.-+~_:eE", min_size=1, max_size=8),
)


@settings(max_examples=500, deadline=None)
@given(text=_plain_like)
def test_yamltypes_types_plain_scalars_as_pyyaml_does(text: str):
    try:
        ours = yamltypes.typed(text)
    except yamltypes.Unusual:
        return
    theirs = yamllib._plain(text)
    assert (type(ours), ours) == (type(theirs), theirs)
