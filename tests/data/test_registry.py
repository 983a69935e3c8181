"""The registry pipeline: run A exports a model, run B imports it by name; the CLI lists it with
run A as its source. On the default folder registry and on one in S3 (a real moto server)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support import cli


def submit(engine, tmp_path: Path, name: str, yaml: str):
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"name: {name}\nresources: {{cluster: local}}\n{yaml}")
    return engine.wait(engine.submit(path).id, timeout=90)


@pytest.mark.parametrize("where", ["folder", "s3"])
def test_run_b_imports_the_model_run_a_exported(engine, tmp_path, where, request):
    if where == "s3":
        store = request.getfixturevalue("s3")
        (tmp_path / "config.yaml").write_text(store.config_text(f"  registry: s3://{store.bucket}/registry\n"))
    a = submit(engine, tmp_path, "train", """export:
  /out: vessl-model://me/mnist
run:
  - command: mkdir -p /out && echo weights-1 > model.bin
    workdir: /out
""")
    assert a.status == "succeeded", engine.read_log(a.id, provisioning=True)[0].decode()
    b = submit(engine, tmp_path, "evaluate", """import:
  /model: vessl-model://me/mnist
run:
  - command: cat model.bin
    workdir: /model
""")
    assert b.status == "succeeded", engine.read_log(b.id, provisioning=True)[0].decode()
    assert engine.read_log(b.id)[0].decode() == "weights-1\n"
    assert f"importing vessl-model://me/mnist/1 (from run {a.id})" in engine.read_log(b.id, provisioning=True)[0].decode()

    shown = cli("models", "list")
    assert shown.returncode == 0, shown.stderr
    header, row = shown.stdout.splitlines()
    assert header.split() == ["URI", "SIZE", "FILES", "SOURCE", "RUN", "AGE"]
    assert row.split()[:4] == ["vessl-model://me/mnist/1", "10B", "1", a.id]
    listed = json.loads(cli("models", "list", "--json").stdout)
    assert [(e["uri"], e["source_run"], e["run_name"], e["size"]) for e in listed] == [
        ("vessl-model://me/mnist/1", a.id, "train", 10)]
    assert "source run:  " + a.id in cli("models", "show", "me/mnist").stdout

    again = submit(engine, tmp_path, "train", "export:\n  /out: vessl-model://me/mnist\nrun:\n"
                                              "  - command: mkdir -p out && echo weights-2 > out/model.bin\n")
    assert again.status == "succeeded"
    assert [e.uri for e in engine.registry_entries("model")] == ["vessl-model://me/mnist/2", "vessl-model://me/mnist/1"]
    removed = cli("models", "rm", "me/mnist/1")
    assert removed.stdout == "removed vessl-model://me/mnist/1\n"
    assert [e.uri for e in engine.registry_entries("model")] == ["vessl-model://me/mnist/2"]


def test_a_bare_artifact_export_is_named_after_the_run(engine, tmp_path):
    run = submit(engine, tmp_path, "finetune", "export:\n  /ckpt: vessl-artifact://\nrun:\n"
                                               "  - command: mkdir -p ckpt && echo c > ckpt/c.pt\n")
    assert run.status == "succeeded"
    [entry] = engine.registry_entries("artifact")
    assert (entry.uri, entry.source_run) == ("vessl-artifact://local/runs/finetune/1", run.id)
    events = [(e.status, e.message) for e in engine.events(run.id) if e.kind == "export"]
    assert events == [("done", "export /ckpt -> vessl-artifact://local/runs/finetune/1 (2B = 2 bytes in 1 file)")]


def test_importing_what_the_registry_lacks_fails_with_one_sentence(engine, tmp_path):
    run = submit(engine, tmp_path, "evaluate", "import:\n  /m: vessl-model://me/none\nrun:\n  - command: \"true\"\n")
    assert run.status == "failed"
    assert run.reason == (f"cannot import vessl-model://me/none: the registry at {engine.home / 'registry'} "
                          "has no model `me/none`.")
    missing = cli("models", "show", "me/none")
    assert (missing.returncode, missing.stderr.strip()) == (
        1, f"error: the registry at {engine.home / 'registry'} has no model `me/none`.")


def test_concurrent_exports_of_one_model_get_distinct_versions(engine, tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    from core.data.registry import Registry
    from core.data.settings import StorageSettings

    sources = []
    for n in range(6):
        folder = tmp_path / f"ckpt{n}"
        folder.mkdir()
        (folder / "w.bin").write_text(f"{n}\n")
        sources.append(folder)
    registry = Registry(StorageSettings(), engine.home)
    with ThreadPoolExecutor(6) as pool:
        entries = list(pool.map(lambda src: registry.publish("vessl-model://me/m", src, src.name, None,
                                                             lambda line: None), sources))
    assert sorted(e.version for e in entries) == [1, 2, 3, 4, 5, 6]
    for entry in entries:
        assert (engine.home / "registry" / "models" / "me" / "m" / str(entry.version) / "w.bin").read_text() \
            == entry.source_run.removeprefix("ckpt") + "\n"
    assert not list((engine.home / "registry").rglob("*.reserve"))
