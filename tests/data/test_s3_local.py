"""S3 imports and exports of local runs against a real S3 API server (moto) on 127.0.0.1."""

from __future__ import annotations

from core.spec.runspec import Command, RunSpec, Volume


def spec(command: str, volumes: list[Volume], name: str = "s3") -> RunSpec:
    return RunSpec(kind="vessl-run", name=name, commands=[Command(command=command)], volumes=volumes)


def log_of(engine, run_id: str, provisioning: bool = False) -> str:
    return engine.read_log(run_id, provisioning=provisioning)[0].decode()


def test_a_prefix_is_imported_and_a_folder_exported(engine, s3):
    s3.fs.pipe({f"{s3.bucket}/data/a.txt": b"alpha\n", f"{s3.bucket}/data/sub/b.txt": b"beta\n",
                f"{s3.bucket}/other/c.txt": b"not this\n"})
    run = spec("cat /data/a.txt data/sub/b.txt; ls data; mkdir -p out/ckpt; echo weights > out/ckpt/w.bin",
               [Volume(kind="import", path="data", source=f"s3://{s3.bucket}/data"),
                Volume(kind="export", path="out", source=f"s3://{s3.bucket}/runs/out")])
    run.commands[0].command = run.commands[0].command.replace("/data/a.txt", "data/a.txt")
    record = engine.submit_spec(run)
    final = engine.wait(record.id, timeout=90)
    provisioning = log_of(engine, record.id, provisioning=True)
    assert final.status == "succeeded", provisioning
    assert log_of(engine, record.id) == "alpha\nbeta\na.txt\nsub\n"
    assert s3.fs.cat(f"{s3.bucket}/runs/out/ckpt/w.bin") == b"weights\n"
    assert f"downloading s3://{s3.bucket}/data: 2 files, 11B" in provisioning
    exports = [e for e in engine.events(record.id) if e.kind == "export"]
    assert [(e.status, e.message) for e in exports] == [
        ("done", f"export out -> s3://{s3.bucket}/runs/out (8B = 8 bytes in 1 file)")]
    from tests.fixtures.s3 import SECRET_KEY

    for path in engine.home.rglob("*"):
        if path.is_file():
            assert SECRET_KEY.encode() not in path.read_bytes(), path


def test_exports_upload_after_a_failed_run(engine, s3):
    run = spec("mkdir -p out; echo partial > out/ckpt.bin; exit 3",
               [Volume(kind="export", path="out", source=f"s3://{s3.bucket}/crashed")])
    final = engine.wait(engine.submit_spec(run).id, timeout=90)
    assert final.status == "failed" and final.exit_code == 3
    assert s3.fs.cat(f"{s3.bucket}/crashed/ckpt.bin") == b"partial\n"
    assert any(e.kind == "export" and e.status == "done" for e in engine.events(final.id))


def test_a_failed_upload_fails_the_run_with_a_sentence(engine, s3):
    run = spec("mkdir -p out; echo x > out/x",
               [Volume(kind="export", path="out", source="s3://no-such-bucket-here/x")])
    final = engine.wait(engine.submit_spec(run).id, timeout=90)
    assert final.status == "failed"
    assert final.reason.startswith("export out to s3://no-such-bucket-here/x failed: could not upload"), final.reason
    assert "\n" not in final.reason
    failed = [e for e in engine.events(final.id) if e.kind == "export"]
    assert failed and failed[0].status == "failed"


def test_a_missing_prefix_fails_at_provisioning_naming_the_source(engine, s3):
    run = spec("true", [Volume(kind="import", path="data", source=f"s3://{s3.bucket}/nothing-here")])
    final = engine.wait(engine.submit_spec(run).id, timeout=90)
    assert final.status == "failed"
    assert final.reason == (f"could not download s3://{s3.bucket}/nothing-here: nothing there "
                            "(no such bucket, prefix or repository).")


def test_progress_counts_files_and_bytes_into_the_provisioning_log(s3, tmp_path, monkeypatch):
    from core.data import objstore
    from core.data.settings import current

    monkeypatch.setattr(objstore, "PROGRESS_SECONDS", 0.0)
    s3.fs.pipe({f"{s3.bucket}/p/a.bin": b"a" * 3000, f"{s3.bucket}/p/b.bin": b"b" * 5000})
    lines: list[str] = []
    assert objstore.download(f"s3://{s3.bucket}/p", tmp_path / "got", current(), lines.append) == (2, 8000)
    assert (tmp_path / "got" / "b.bin").read_bytes() == b"b" * 5000
    progress = [line for line in lines if line.startswith(f"download s3://{s3.bucket}/p: ")]
    assert progress[-1] == f"download s3://{s3.bucket}/p: 2/2 files, 7.8K of 7.8K"
    assert lines[0] == f"downloading s3://{s3.bucket}/p: 2 files, 7.8K"


def test_credentials_from_a_named_secret_of_the_config(engine, s3, config_file):
    from tests.fixtures.s3 import KEY_ID, SECRET_KEY

    config_file.write_text(f"storage:\n  s3: {{endpoint_url: '{s3.endpoint}'}}\n"
                           f"secrets:\n  team-s3: '{KEY_ID}:{SECRET_KEY}'\n")
    s3.fs.pipe_file(f"{s3.bucket}/d/a.txt", b"via secret\n")
    named = spec("cat d/a.txt", [Volume(kind="import", path="d", source=f"s3://{s3.bucket}/d", credential="team-s3")])
    final = engine.wait(engine.submit_spec(named).id, timeout=90)
    assert final.status == "succeeded", log_of(engine, final.id, provisioning=True)
    assert log_of(engine, final.id) == "via secret\n"
    unknown = spec("true", [Volume(kind="import", path="d", source=f"s3://{s3.bucket}/d", credential="nope")])
    final = engine.wait(engine.submit_spec(unknown).id, timeout=90)
    assert final.reason == (f"credential `nope` of s3://{s3.bucket}/d is not a secret in the config; add it under "
                            "`secrets:` (or set VESSL_TUI_SECRET_nope).")
