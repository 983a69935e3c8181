"""The plain validator (`core.spec.validator`) gives exactly what the pydantic models give.

The models are the one description of the spec language; the validator runs the tables written
from them. These tests hold the two to the same problems (byte for byte, positions included) and
the same validated values (and so the same RunSpec), on the corpus, the templates, the broken specs, a matrix of values for
every top-level field, and mutated corpus files.
"""

from __future__ import annotations

import copy
import random
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from core.spec import _tables, loader, mapping, schema, tablegen, templates, validator, yamlpos
from core.spec.errors import Problem
from tests.conftest import CORPUS
from tests.spec.test_robustness import CORPUS_FILES, _mutate

REPO = Path(__file__).resolve().parents[2]


def source_model(kind: str):
    """The pydantic model class of a spec kind."""
    [model] = schema._root_models(kind)
    return model


BROKEN = sorted((Path(__file__).parent / "broken").glob("*.y*ml"))


def by_pydantic(text: str, file: str = "spec.yaml") -> list[list[Problem]]:
    """Each document's problems as the pydantic models find them (the loader's rules otherwise)."""
    out = []
    for doc in yamlpos.parse(text):
        if doc.error or not isinstance(doc.value, dict) or loader.detect(doc.value)[2] is None:
            out.append(loader._document(doc, file, None).problems)
            continue
        family, typ, kind = loader.detect(doc.value)
        ctx = loader._Context(doc, file, kind, family, typ)
        try:
            parsed = source_model(kind).model_validate(doc.value)
        except ValidationError as exc:
            out.append(loader._problems(ctx, exc.errors(include_url=False)))
            continue
        out.append(sorted(loader._warnings(ctx, parsed), key=lambda p: (p.line, p.column)))
    return out


def by_validator(text: str, file: str = "spec.yaml") -> list[list[Problem]]:
    return [doc.problems for doc in loader.load_text(text, file)] if yamlpos.parse(text) else []


def same_value(ours, theirs, where="") -> None:
    """`ours` (validator instances) holds what `theirs` (pydantic models) holds, type for type."""
    if isinstance(theirs, BaseModel):
        assert type(ours).__name__ == type(theirs).__name__, where
        for name in type(theirs).model_fields:
            same_value(getattr(ours, name), getattr(theirs, name), f"{where}.{name}")
    elif isinstance(theirs, (list, tuple)):
        assert type(ours) is type(theirs) and len(ours) == len(theirs), where
        for i, (a, b) in enumerate(zip(ours, theirs)):
            same_value(a, b, f"{where}[{i}]")
    elif isinstance(theirs, dict):
        assert type(ours) is dict and list(ours) == list(theirs), where
        for key in theirs:
            same_value(ours[key], theirs[key], f"{where}[{key!r}]")
    else:
        assert type(ours) is type(theirs) and ours == theirs, (where, ours, theirs)


def agree(text: str) -> None:
    assert by_validator(text) == by_pydantic(text)
    for doc in yamlpos.parse(text):
        if doc.error or not isinstance(doc.value, dict) or loader.detect(doc.value)[2] is None:
            continue
        kind = loader.detect(doc.value)[2]
        ours, errors = validator.validate(kind, doc.value)
        if not errors:
            theirs = source_model(kind).model_validate(doc.value)
            same_value(ours, theirs, kind)
            assert mapping.runspec(kind, ours) == mapping.runspec(kind, theirs)


def test_the_tables_are_written_from_the_models_as_they_are_now():
    assert tablegen.generate() == tablegen.TABLES.read_text(), \
        "the models changed: run `python -m core.spec.tablegen --write`"


def test_the_tables_cover_every_kind_of_spec():
    assert set(_tables.ROOTS) == {"vessl-run", "vessl-revision", "dstack-task", "dstack-service",
                                  "dstack-dev-environment", "dstack-fleet"}


@pytest.mark.skipif(not CORPUS_FILES, reason="the shared corpus is not present")
def test_every_corpus_file():
    for path in CORPUS_FILES:
        agree(path.read_text(encoding="utf-8"))


def test_every_template_and_broken_spec():
    assert BROKEN
    for text in [*templates().values(), *(p.read_text() for p in BROKEN)]:
        agree(text)


PROBES = [None, 0, 1, -1, 2, 2.0, 2.5, 1e19, float("inf"), True, False, "", " ", "x", "1", " 3 ", "3.0", "1_0",
          "yes", "off", "2h", "1..4", "..", "A100:2", "16GB", "8080:80", "*:9000", "http", "task", "/x", "0 8 * * *",
          [], [1], ["x"], [{}], {}, {"a": 1}, {"min": 1, "max": 2}, {"type": "ip_address"}]
MINIMAL = {
    "vessl-run": {"name": "x", "run": "echo"},
    "vessl-revision": {"run": "echo", "service": {"expose": 8000}},
    "dstack-task": {"type": "task", "commands": ["echo"]},
    "dstack-service": {"type": "service", "port": 8000, "commands": ["echo"]},
    "dstack-dev-environment": {"type": "dev-environment", "ide": "vscode"},
    "dstack-fleet": {"type": "fleet", "nodes": 1},
}


@pytest.mark.parametrize("kind", sorted(MINIMAL))
def test_every_top_level_field_with_every_kind_of_value(kind):
    fields, _, _ = _tables.MODELS[_tables.ROOTS[kind]]
    for name, alias, _, _ in fields:
        if (alias or name) == "type":
            continue
        for value in PROBES:
            agree(yaml.safe_dump({**MINIMAL[kind], alias or name: value}, sort_keys=False))


@pytest.mark.skipif(not CORPUS_FILES, reason="the shared corpus is not present")
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(index=st.integers(min_value=0), seed=st.integers(min_value=0, max_value=2**32), rounds=st.integers(1, 4))
def test_mutated_corpus_files(index, seed, rounds):
    rnd = random.Random(seed)
    data = next(yaml.safe_load_all(CORPUS_FILES[index % len(CORPUS_FILES)].read_text(encoding="utf-8")), None)
    if not isinstance(data, dict):
        return
    for _ in range(rounds):
        data = _mutate(data, rnd) if rnd.random() < 0.5 else _probe(data, rnd)
    agree(yaml.safe_dump(data, sort_keys=False))


def _probe(data, rnd: random.Random):
    """`data` with one value somewhere in it (the deeper, the likelier) replaced by a probe."""
    if isinstance(data, dict) and data and rnd.random() < 0.85:
        key = rnd.choice(list(data))
        return {**data, key: _probe(data[key], rnd)}
    if isinstance(data, list) and data and rnd.random() < 0.85:
        i = rnd.randrange(len(data))
        return [*data[:i], _probe(data[i], rnd), *data[i + 1:]]
    return copy.deepcopy(rnd.choice(PROBES))


def test_validating_imports_no_pydantic():
    """Nor click or textual; nor PyYAML where the C reader is built."""
    spec = CORPUS / "vessl" / "vessl-ai__vessl-training-recipes__SFT__run.yaml"
    if not spec.exists():
        spec = REPO / "core" / "spec" / "templates" / "vessl-run.yaml"
    code = ("import sys; from core.cli.validation import report; text, code = report([sys.argv[1]], False); "
            "print(code, sorted(m for m in ('pydantic', 'yaml', 'click', 'textual') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code, str(spec)], cwd=REPO, capture_output=True, text=True, check=True)
    imported = [] if yamlpos._yamlc is not None else ["yaml"]
    assert out.stdout == f"0 {imported}\n", out.stdout + out.stderr


HUGE = "9" * 400
EDGES = [
    "run: echo\nimport: {/a: 'git://x'}\nimport_: {/b: 'git://y'}\n",  # a field's name beside its alias
    f"type: service\nport: 8000\ncommands: [x]\nmax_price: {HUGE}\n",
    f"type: task\ncommands: [x]\nresources: {{shm_size: {HUGE}, gpu: {HUGE}}}\nmax_duration: {HUGE}\n",
    f"run: echo\nresources: {{cpu: {HUGE}}}\nports: [{HUGE}]\n",
    "type: task\ncommands: [x]\n1: 2\nnull: 3\n1.5: 4\nresources: {2: 5}\n",  # keys that are not text
    "run: echo\nenv: {A: !!binary aGVsbG8=}\nname: 2001-01-01\n",
    "type: task\ncommands: [x]\ntags: {true: x, false: y, 3: z}\nenv: {true: x}\n",  # keys YAML reads as bool
    "type: task\ncommands: [x]\nbackend_options: [{min_reliability: .nan}]\n",  # NaN against two bounds
    'type: task\ncommands: [x]\npriority: "\\x1c5"\nmax_price: "\\x1f2"\nnodes: "\\u00a02 "\n',  # not spaces
    f"type: task\ncommands: [x]\nnodes: {'9' * 4400}\npriority: '{'9' * 4400}'\n",  # beyond int()'s digits
    "run: echo\nresources: {cluster_id: '" + "9" * 4301 + "'}\n",
    "type: task\ncommands: [x]\nports: [{1: 2, a: 3}]\nresources: {disk: {1: 2, b: 3}, gpu: {1: 2, c: 3}}\n",
    "type: task\ncommands: [x]\ndocker: 9223372036854775808\nprivileged: 2\n",
]


@pytest.mark.parametrize("text", EDGES)
def test_edges_agree_and_are_problems_not_crashes(text):
    agree(text)
    for problems in by_validator(text):
        assert not any("could not be validated" in p.message or len(p.message) > 200 for p in problems), problems


def test_an_infinite_count_is_a_problem():
    [doc] = loader.load_text("type: fleet\nnodes: .inf\n")
    assert [(p.path, p.message) for p in doc.errors] == [("nodes", "a count must be a whole number >= 0, got inf")]


def test_a_verbose_source_needs_text_where_a_uri_is_built():
    [doc] = loader.load_text("run: echo\nimport:\n  /code: {git: {url: -1}}\n")
    assert [(p.path, p.message) for p in doc.errors] == [('import["/code"]', "`git.url` must be a string, got `-1`")]


def _known_by_pydantic(kind: str, parts: tuple) -> list[str]:
    """What `validator.known_fields` answers, from the pydantic models themselves."""
    from core.spec.schema import _field, _models_in

    models = [source_model(kind)]
    for part in parts:
        if isinstance(part, str):
            infos = [info for m in models if (info := _field(m, part)) is not None]
            models = [m for info in infos for m in _models_in(info.annotation)] or models
    names: list[str] = []
    for m in models:
        for fname, info in m.model_fields.items():
            if (info.alias or fname) not in names:
                names.append(info.alias or fname)
    return names


def _mapping_paths(value, path=()):
    if isinstance(value, dict):
        yield path
        for key, item in value.items():
            yield from _mapping_paths(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _mapping_paths(item, (*path, i))


@pytest.mark.skipif(not CORPUS_FILES, reason="the shared corpus is not present")
def test_did_you_mean_knows_the_fields_the_models_have():
    """An unknown key's hint lists the fields of the models at its place: the same from the tables
    as from the models, at every mapping of every corpus document."""
    checked = 0
    for path in CORPUS_FILES:
        for doc in yamlpos.parse(path.read_text(encoding="utf-8")):
            kind = loader.detect(doc.value)[2] if isinstance(doc.value, dict) else None
            for parts in _mapping_paths(doc.value) if kind else ():
                assert validator.known_fields(kind, parts) == _known_by_pydantic(kind, parts), (path, parts)
                checked += 1
    assert checked > 1000


def test_a_key_named_like_a_union_member_is_not_taken_for_it():
    [doc] = loader.load_text("type: task\ncommands: [x]\nenv:\n  dict: a\n  1x: b\n")
    assert [(p.line, p.column, p.path) for p in doc.errors] == [(5, 3, 'env["1x"]')]


def test_a_value_with_line_breaks_is_quoted_on_one_line():
    [doc] = loader.load_text('type: task\ncommands: [x]\nenv: ["a b\\nc=1", "x\\u2028y"]\n')
    assert [p.message for p in doc.errors] == [
        "invalid variable name `a b\\nc`: use letters, digits and _, not starting with a digit",
        "invalid variable name `x\\u2028y`: use letters, digits and _, not starting with a digit"]
