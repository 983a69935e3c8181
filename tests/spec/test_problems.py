"""What pydantic's errors become: one positioned sentence each, never a crash, whatever the value."""

from __future__ import annotations

import pytest
import yaml

from core.spec import loader, models

PROBES = [None, 0, 1, -1, 2, 2.0, 2.5, 1e19, float("inf"), True, False, "", " ", "x", "1", " 3 ", "3.0", "1_0",
          "yes", "off", "2h", "1..4", "..", "A100:2", "16GB", "8080:80", "*:9000", "http", "task", "/x", "0 8 * * *",
          [], [1], ["x"], [{}], {}, {"a": 1}, {"min": 1, "max": 2}, {"type": "ip_address"}]
MINIMAL = {
    "vessl-run": {"name": "x", "image": "python:3.11", "run": "echo"},
    "vessl-revision": {"image": "python:3.11", "run": "echo", "service": {"expose": 8000}},
    "dstack-task": {"type": "task", "commands": ["echo"]},
    "dstack-service": {"type": "service", "port": 8000, "commands": ["echo"]},
    "dstack-dev-environment": {"type": "dev-environment", "ide": "vscode"},
    "dstack-fleet": {"type": "fleet", "nodes": 1},
}


def sound(problems) -> bool:
    """Every problem positioned, one short sentence, and none a validation crash."""
    return all(p.line >= 1 and p.column >= 1 and "\n" not in p.message and len(p.message) <= 300
               and "could not be validated" not in p.message for p in problems)


@pytest.mark.parametrize("kind", sorted(MINIMAL))
def test_every_top_level_field_with_every_kind_of_value(kind):
    [doc] = loader.load_text(yaml.safe_dump(MINIMAL[kind], sort_keys=False))
    assert doc.valid and doc.kind == kind, doc.problems
    for name, info in models.model_of(kind).model_fields.items():
        key = info.alias or name
        if key == "type":
            continue
        for value in PROBES:
            text = yaml.safe_dump({**MINIMAL[kind], key: value}, sort_keys=False)
            for doc in loader.load_text(text):
                assert sound(doc.problems), (key, value, doc.problems)
                if doc.valid:
                    assert doc.spec is not None


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
def test_edges_are_problems_not_crashes(text):
    docs = loader.load_text(text)
    assert docs
    for doc in docs:
        assert sound(doc.problems), doc.problems
        assert doc.valid == (doc.spec is not None)


def test_an_infinite_count_is_a_problem():
    [doc] = loader.load_text("type: fleet\nnodes: .inf\n")
    assert [(p.path, p.message) for p in doc.errors] == [("nodes", "a count must be a whole number >= 0, got inf")]


def test_a_verbose_source_needs_text_where_a_uri_is_built():
    [doc] = loader.load_text("image: x\nrun: echo\nimport:\n  /code: {git: {url: -1}}\n")
    assert [(p.path, p.message) for p in doc.errors] == [('import["/code"]', "`git.url` must be a string, got `-1`")]


def test_a_key_named_like_a_union_member_is_not_taken_for_it():
    [doc] = loader.load_text("type: task\ncommands: [x]\nenv:\n  dict: a\n  1x: b\n")
    assert [(p.line, p.column, p.path) for p in doc.errors] == [(5, 3, 'env["1x"]')]
    [doc] = loader.load_text("image: x\nrun:\n  - {command: x, dict: 1}\nenv:\n  dict: {value: 1, x: 2}\n")
    assert [(p.line, p.column, p.path) for p in doc.errors] == [(3, 18, "run[0].dict"), (5, 20, "env.dict.x")]


def test_a_value_with_line_breaks_is_quoted_on_one_line():
    [doc] = loader.load_text('type: task\ncommands: [x]\nenv: ["a b\\nc=1", "x\\u2028y"]\n')
    assert [p.message for p in doc.errors] == [
        "invalid variable name `a b\\nc`: use letters, digits and _, not starting with a digit",
        "invalid variable name `x\\u2028y`: use letters, digits and _, not starting with a digit"]


def test_an_unknown_key_lists_the_fields_of_its_place():
    [doc] = loader.load_text("image: x\nrun: echo\ninteractive: {max_runtime: 1h, zzz: 1}\n")
    assert [p.message for p in doc.errors] == ["unknown field `zzz`; expected one of: max_runtime, jupyter, idle_timeout"]
