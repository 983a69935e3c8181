"""Problems point at the offending key or value (line, column, field path), never at its parent."""

from __future__ import annotations

import pytest

from core.spec import load_text

CASES = [
    # (spec text, expected "line:col: path: message fragment")
    ("type: task\ncommands: [echo]\nports:\n  - 8000\n  - 70000\n",
     "5:5: ports[1]: port must be 1..65535, got 70000"),
    ("type: task\ncommands: [echo]\nresouces:\n  gpu: 1\n",
     "3:1: resouces: unknown field `resouces` — did you mean `resources`?"),
    ("type: task\ncommands: [echo]\nresources:\n  gpu: A100:2\n  memroy: 16GB\n",
     "5:3: resources.memroy: unknown field `memroy` — did you mean `memory`?"),
    ("type: task\ncommands: [echo]\nresources:\n  cpu: 4\n  gpu: A100:2:3\n",
     "5:8: resources.gpu: GPU spec `A100:2:3` has a count conflict"),
    ("type: task\ncommands:\n  - echo a\n  - echo b: c\n",
     "4:5: commands[1]: YAML read this line as a mapping"),
    ("type: task\ncommands: [echo]\nenv:\n  - A=1\n  - BAD-NAME=2\n",
     "5:5: env[1]: invalid variable name `BAD-NAME`"),
    ("type: task\ncommands: [echo]\nenv:\n  GOOD: 1\n  BAD-NAME: 2\n",
     "5:3: env.BAD-NAME: invalid variable name `BAD-NAME`"),
    ("type: task\nimage: ubuntu\npython: '3.11'\ncommands: [echo]\n",
     "3:1: python: `image` and `python` are mutually exclusive"),
    ("type: service\ncommands: [echo]\nport: 8000\nreplicas: 1..4\n",
     "4:1: replicas: a range of replicas needs `scaling`"),
    ("type: task\ncommands: [echo]\nmax_duration: 2 hours\n",
     "3:15: max_duration: invalid duration `2 hours`"),
    ("name: r\nimage: x\nrun: echo\nimport:\n  /code/:\n    git:\n      ref: main\n",
     '6:5: import["/code/"]: `git` needs `url`'),
    ("name: r\nimage: x\nrun:\n  - command: echo\n    workdri: /x\n",
     "5:5: run[0].workdri: unknown field `workdri` — did you mean `workdir`?"),
    ("name: r\nimage: x\nrun: echo\nresources:\n  cluster: c\n  requests:\n    nvidia.com/gpu:\n      quantity: many\n",
     '8:17: resources.requests["nvidia.com/gpu"].quantity: invalid cpu amount `many`'),
    ("name: s\nimage: x\nrun: echo\nservice:\n  expose: 8000\n  autoscaling:\n    metric: cpu\n    target: 150\n",
     "8:5: service.autoscaling.target: a cpu target is a percentage, at most 100; got 150"),
    ("name: s\nimage: x\nrun: echo\nservice:\n  autoscaling: {metric: cpu, target: 50}\n",
     "4:1: service: missing required field `expose`"),
    ("type: task\ncommands: [echo\n", "3:1: YAML syntax error"),
    ("type: task\ncommands:\n\t- echo\n", "3:1: a tab character cannot indent YAML"),
    ("type: job\n", "1:7: type: unknown configuration type `job`"),
]


@pytest.mark.parametrize("text, expected", CASES, ids=[c[1].split(":")[2].strip() or c[1] for c in CASES])
def test_problem_position(text, expected):
    problems = [p for d in load_text(text, "spec.yaml") for p in d.errors]
    rendered = [f"{p.line}:{p.column}: {p.path + ': ' if p.path else ''}{p.message}" for p in problems]
    assert any(r.startswith(expected) for r in rendered), rendered


def test_every_problem_is_reported_in_order():
    text = ("type: task\n"           # 1
            "commands: [echo]\n"     # 2
            "ports: [0]\n"           # 3
            "nodes: zero\n"          # 4
            "resources:\n"           # 5
            "  gpu: 'A100:'\n"       # 6
            "spot_policy: maybe\n")  # 7
    errors = load_text(text)[0].errors
    assert [(p.line, p.path) for p in errors] == [
        (3, "ports[0]"), (4, "nodes"), (6, "resources.gpu"), (7, "spot_policy")]


def test_compiler_style_format():
    problem = load_text("type: task\ncommands: [echo]\nports: [8000, 70000]\n", "spec.yaml")[0].errors[0]
    assert problem.format() == "spec.yaml:3:15: error: ports[1]: port must be 1..65535, got 70000"


def test_runspec_positions_point_at_the_source():
    spec = load_text("name: r\nimage: busybox\nresources:\n  cluster: local\n  requests:\n"
                     "    nvidia.com/gpu: {device_type: L4, quantity: 1}\nrun:\n  - command: echo\n")[0].spec
    assert spec.positions["image"] == (2, 8)
    assert spec.positions["resources.cluster"] == (4, 12)
    assert spec.positions["resources.gpu"] == (6, 21)
    assert spec.positions["commands"] == (8, 3)
    dstack = load_text("type: task\ncommands: [echo]\nresources:\n  gpu: H100:8\n")[0].spec
    assert dstack.positions["resources.gpu"] == (4, 8)
