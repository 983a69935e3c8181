"""Never a traceback: hostile or broken input comes back as a positioned problem."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.spec import SpecError, load_file, load_spec, load_text
from tests.conftest import CORPUS


def only_problem(docs) -> str:
    assert len(docs) == 1 and not docs[0].valid
    problem = docs[0].errors[0]
    assert problem.line >= 1 and problem.column >= 1
    return problem.message


def test_missing_file(tmp_path: Path):
    assert only_problem(load_file(tmp_path / "nope.yaml")) == "no such file"


def test_directory(tmp_path: Path):
    assert "directory" in only_problem(load_file(tmp_path))


def test_binary_junk(tmp_path: Path):
    path = tmp_path / "junk.yaml"
    path.write_bytes(bytes(range(256)) * 8)
    assert "UTF-8" in only_problem(load_file(path)) or "control character" in only_problem(load_file(path))


def test_control_characters(tmp_path: Path):
    path = tmp_path / "nul.yaml"
    path.write_bytes(b"name: x\nimage: \x00\x01\n")
    docs = load_file(path)
    assert "control character" in only_problem(docs)
    assert docs[0].errors[0].line == 2


def test_non_utf8_points_at_the_byte(tmp_path: Path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: x\ndescription: caf\xe9\n".encode("latin-1"))
    docs = load_file(path)
    assert "not UTF-8" in only_problem(docs)
    assert (docs[0].errors[0].line, docs[0].errors[0].column) == (2, 17)


def test_fifty_megabytes(tmp_path: Path):
    path = tmp_path / "big.yaml"
    with open(path, "wb") as fh:
        fh.write(b"name: x\n")
        fh.write(b"# padding\n" * (5 * 1024 * 1024))
    assert "at most 2 MB" in only_problem(load_file(path))


def test_deep_nesting():
    message = only_problem(load_text("[" * 10000 + "]" * 10000))
    assert "nest" in message or "YAML" in message
    message = only_problem(load_text("a:\n" + "".join("  " * i + "b:\n" for i in range(1, 400))))
    assert "nest" in message


def test_alias_bomb():
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i, name in enumerate("bcdefghi"):
        prev = "abcdefghi"[i]
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 10) + "]")
    assert "alias" in only_problem(load_text("\n".join(lines)))


def test_recursive_alias():
    assert only_problem(load_text("a: &a [*a]\n"))


@pytest.mark.parametrize("text", ["", "# only a comment\n", "---\n", "--- \n...\n"])
def test_empty(text):
    assert "no spec" in only_problem(load_text(text))


@pytest.mark.parametrize("text", ["just a string", "42", "- a\n- b\n", "null"])
def test_not_a_mapping(text):
    message = only_problem(load_text(text))
    assert "mapping" in message or "no spec" in message


def test_load_spec_raises_spec_error_with_every_problem(tmp_path: Path):
    path = tmp_path / "bad.yaml"
    path.write_text("type: task\ncommands: [echo]\nports: [0]\nnodes: 0\n")
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert [p.path for p in info.value.problems] == ["ports[0]", "nodes"]
    assert f"{path}:3:9: error: ports[0]:" in str(info.value)
    with pytest.raises(SpecError, match="no document 3"):
        load_spec(path, document=3)


def test_load_spec_returns_runspec_with_source(tmp_path: Path):
    path = tmp_path / "ok.yaml"
    path.write_text("type: task\ncommands: [echo hi]\n")
    spec = load_spec(path)
    assert (spec.kind, spec.source_file, spec.source_text) == ("dstack-task", str(path), path.read_text())


def test_a_spec_loaded_by_a_relative_path_remembers_where_it_is(tmp_path: Path, monkeypatch):
    (tmp_path / "ok.yaml").write_text("type: task\ncommands: [echo hi]\n")
    monkeypatch.chdir(tmp_path)
    [doc] = load_file("ok.yaml")
    assert doc.file == "ok.yaml"  # problems name the file as the user wrote it
    assert doc.spec.source_file == str(tmp_path / "ok.yaml")


# ------------------------------------------------------------------ mutation fuzzing

CORPUS_FILES = sorted(p for p in CORPUS.glob("*/*") if p.suffix in (".yml", ".yaml")) if CORPUS.exists() else []
JUNK = ["\x00", "\t", ": ", "- ", "{", "]", "&a", "*a", "'", '"', "\ufeff", "\xff", "...", "\n---\n", "#", "|"]


def _mutate(data, rnd: random.Random, depth: int = 0):
    """Delete, duplicate or retype keys and garble scalars, somewhere in the tree."""
    if isinstance(data, dict) and data:
        data = dict(data)
        key = rnd.choice(list(data))
        op = rnd.randrange(6)
        if op == 0:
            del data[key]
        elif op == 1:
            data[key + rnd.choice(["s", "_x", ""])[:2]] = data[key]
        elif op == 2:
            data[key] = rnd.choice([None, 0, -1, 70000, 3.1, True, "", "x..y", [], {}, [[]], {"a": 1}])
        else:
            data[key] = _mutate(data[key], rnd, depth + 1)
        return data
    if isinstance(data, list) and data:
        data = list(data)
        i = rnd.randrange(len(data))
        data[i] = _mutate(data[i], rnd, depth + 1) if rnd.random() < 0.7 else rnd.choice([None, {}, "?", 5])
        return data
    return rnd.choice([None, 0, "..", "A100:", "1...3", "-5m", "off", False, "16Gi", "*:0", {"min": 3, "max": 1},
                       "::", "\u00e9\u00e9", str(data)[::-1]])


@pytest.mark.skipif(not CORPUS_FILES, reason="the shared corpus is not present")
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(index=st.integers(min_value=0), seed=st.integers(min_value=0, max_value=2**32), text_junk=st.booleans())
def test_mutated_corpus_never_raises(index, seed, text_junk):
    rnd = random.Random(seed)
    path = CORPUS_FILES[index % len(CORPUS_FILES)]
    text = path.read_text(encoding="utf-8")
    if text_junk:
        for _ in range(rnd.randint(1, 3)):
            at = rnd.randrange(len(text) + 1)
            text = text[:at] + rnd.choice(JUNK) + text[at:]
    else:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError:
            data = None
        if isinstance(data, dict):
            text = yaml.safe_dump(_mutate(data, rnd), sort_keys=False)
    docs = load_text(text, "mutated.yaml")
    assert docs
    for doc in docs:
        assert doc.valid == (doc.spec is not None)
        for problem in doc.problems:
            assert problem.line >= 1 and problem.column >= 1
            assert problem.message and "\n" not in problem.message
            assert "Traceback" not in problem.message
            assert "could not be validated" not in problem.message, problem.message


def test_the_runspec_is_built_when_first_read_and_a_failing_build_is_one_problem(tmp_path: Path, monkeypatch):
    from core.spec import mapping

    built = []
    original = mapping.runspec
    monkeypatch.setattr(mapping, "runspec", lambda kind, spec: built.append(kind) or original(kind, spec))
    [doc] = load_text("type: task\ncommands: [echo hi]\n")
    assert doc.valid and built == []  # validating needs the problems only
    assert doc.spec.commands[0].command == "echo hi" and built == ["dstack-task"]
    assert doc.spec is doc.spec and len(built) == 1

    def broken(kind, spec):
        raise KeyError("gpu")

    monkeypatch.setattr(mapping, "runspec", broken)
    path = tmp_path / "task.yaml"
    path.write_text("type: task\ncommands: [echo hi]\n")
    with pytest.raises(SpecError) as failed:
        load_spec(path)
    assert [p.format() for p in failed.value.problems] == [
        f"{path}:1:1: error: this document could not be validated (KeyError: 'gpu'); please report it with the file"]
