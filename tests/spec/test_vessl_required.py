"""The VESSL run YAML reference's required fields and quantities, each a positioned problem."""

from __future__ import annotations

import pytest

from core.spec import load_text


def problems(text: str) -> list[str]:
    return [p.format() for d in load_text(text, "s.yaml") for p in d.problems]


def errors(text: str) -> list[str]:
    return [p.format() for d in load_text(text, "s.yaml") for p in d.errors]


def only(text: str):
    [doc] = load_text(text, "s.yaml")
    assert doc.valid, [p.format() for p in doc.problems]
    return doc


def test_a_run_item_needs_a_command():
    assert problems("name: x\nimage: py\nrun:\n  - workdir: /x\n  - command: echo\n") == [
        "s.yaml:4:5: error: run[0]: missing required field `command`"]


def test_a_misspelled_command_is_one_problem():
    assert problems("name: x\nimage: py\nrun:\n  - comand: echo\n") == [
        "s.yaml:4:5: error: run[0].comand: unknown field `comand` — did you mean `command`?"]


def test_wait_is_how_long_to_pause_after_the_command():
    spec = only("name: x\nimage: py\nrun:\n  - command: echo a\n    wait: 2s\n  - command: echo b\n").spec
    assert [(c.command, c.wait) for c in spec.commands] == [("echo a", None), (None, 2.0), ("echo b", None)]


@pytest.mark.parametrize("text, where", [
    ("name: x\nresources: {cluster: lab}\nrun: echo\n", "1:1"),
    ("# a training run\n\nname: x\nresources:\n  cluster: gcp\nrun: echo\n", "3:1"),
    ("name: s\nresources: {cluster: lab}\nrun: serve\nservice: {expose: 80}\nports: [80]\n", "1:1"),
])
def test_a_run_on_a_cluster_names_its_image(text, where):
    [problem] = problems(text)
    assert problem.startswith(f"s.yaml:{where}: error: image: missing required field `image`: a VESSL run on "
                              "cluster `"), problem


def test_the_image_error_points_at_its_own_document():
    assert problems("name: a\nimage: py\nrun: echo\n---\nname: b\nresources: {cluster: lab}\nrun: echo\n") == [
        "s.yaml:5:1: error: image: missing required field `image`: a VESSL run on cluster `lab` names its "
        "container image, e.g. `image: python:3.11`"]


@pytest.mark.parametrize("resources", ["", "resources: {cluster: local}\n"])
def test_a_run_that_stays_on_this_machine_needs_no_image(resources):
    assert only(f"name: x\n{resources}run: echo\n").spec.image is None


def test_interactive_needs_max_runtime():
    assert problems("name: x\nimage: py\ninteractive:\n  jupyter: {idle_timeout: 1h}\n") == [
        "s.yaml:3:1: error: interactive: missing required field `max_runtime`"]


def test_jupyter_needs_its_idle_timeout():
    assert problems("name: x\nimage: py\ninteractive:\n  max_runtime: 24h\n  jupyter: {}\n") == [
        "s.yaml:5:3: error: interactive.jupyter.idle_timeout: missing required field `idle_timeout`: give how "
        "long Jupyter may stay idle, e.g. `jupyter: {idle_timeout: 120m}`"]
    spec = only("name: x\nimage: py\ninteractive:\n  max_runtime: 24h\n  jupyter: {idle_timeout: 2h}\n").spec
    assert (spec.max_duration, spec.interactive.jupyter, spec.interactive.idle_timeout) == (86400, True, 7200)


def test_idle_timeout_beside_jupyter_is_read_with_a_warning_saying_where_it_belongs():
    doc = only("name: x\nimage: py\ninteractive:\n  max_runtime: 24h\n  idle_timeout: 2h\n  jupyter: {}\n")
    assert [p.format() for p in doc.problems] == [
        "s.yaml:5:3: warning: interactive.idle_timeout: `idle_timeout` belongs under `jupyter:` "
        "(`interactive: {jupyter: {idle_timeout: 120m}}`); it is read as `jupyter.idle_timeout`"]
    assert (doc.spec.interactive.jupyter, doc.spec.interactive.idle_timeout) == (True, 7200)
    doc = only("name: x\nimage: py\ninteractive:\n  max_runtime: 24h\n  idle_timeout: 2h\n")
    assert doc.problems[0].message.endswith("without `jupyter:` it has no effect")
    assert (doc.spec.interactive.jupyter, doc.spec.interactive.idle_timeout) == (False, None)


def test_requested_quantities_are_positive():
    assert problems('name: x\nimage: py\nrun: echo\nresources:\n  requests:\n    cpu: "-2"\n    memory: -1Gi\n'
                    "    nvidia.com/gpu: {device_type: A100, quantity: 0}\n") == [
        "s.yaml:6:10: error: resources.requests.cpu: cpu must be positive, got -2",
        "s.yaml:7:13: error: resources.requests.memory: memory must be positive, got -1Gi",
        's.yaml:8:51: error: resources.requests["nvidia.com/gpu"].quantity: the GPU quantity must be positive, got 0']
    assert errors("name: x\nimage: py\nrun: echo\nresources: {cpu: -500m, memory: 0, accelerators: 'A100:0'}\n") == [
        "s.yaml:4:18: error: resources.cpu: cpu must be positive, got -500m",
        "s.yaml:4:33: error: resources.memory: memory must be positive, got 0",
        "s.yaml:4:50: error: resources.accelerators: the GPU quantity must be positive, got 0"]
    spec = only("name: x\nimage: py\nrun: echo\nresources: {cpu: 500m, memory: 2Gi, accelerators: 'A100:2'}\n").spec
    assert (spec.resources.cpu.min, spec.resources.memory_gb.min, spec.resources.gpu.count.min) == (0.5, 2.0, 2.0)
