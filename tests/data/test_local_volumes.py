"""Host-path mounts and git imports of local runs, from real VESSL YAML."""

from __future__ import annotations

from pathlib import Path

from tests.support import git_repo


def submit(engine, tmp_path: Path, yaml: str):
    path = tmp_path / "run.yaml"
    path.write_text(yaml)
    return engine.wait(engine.submit(path).id, timeout=60)


def test_a_hostpath_mount_is_read_only_unless_readonly_false(engine, tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "in.txt").write_text("from the host\n")
    ro = submit(engine, tmp_path, f"""name: ro
resources: {{cluster: local}}
mount:
  /shared: hostpath://{shared}
run:
  - command: cat in.txt && echo written > out.txt
    workdir: /shared
""")
    log = engine.read_log(ro.id)[0].decode()
    assert ro.status == "failed", log
    assert log.startswith("from the host\n") and "Read-only file system" in log
    assert not (shared / "out.txt").exists()
    assert engine.read_log(ro.id, provisioning=True)[0].decode().count("(read-only)") == 1

    rw = submit(engine, tmp_path, f"""name: rw
resources: {{cluster: local}}
mount:
  /shared:
    hostpath: {{path: {shared}}}
    readonly: false
run:
  - command: echo written > out.txt
    workdir: /shared
""")
    assert rw.status == "succeeded", engine.read_log(rw.id, provisioning=True)[0].decode()
    assert (shared / "out.txt").read_text() == "written\n"
    engine.remove(ro.id)
    assert (shared / "in.txt").read_text() == "from the host\n"  # removing the run leaves the host's files


def test_a_local_repository_is_imported_at_a_sha(engine, tmp_path):
    repo = tmp_path / "repo"
    shas = git_repo(repo, [{"v.txt": "v1\n"}, {"v.txt": "v2\n"}])
    final = submit(engine, tmp_path, f"""name: git-sha
resources: {{cluster: local}}
import:
  /code:
    git: {{url: "git://{repo}", ref: {shas[0]}}}
run:
  - command: cat v.txt
    workdir: /code
""")
    assert final.status == "succeeded", engine.read_log(final.id, provisioning=True)[0].decode()
    assert engine.read_log(final.id)[0].decode() == "v1\n"


def test_an_nfs_mount_the_machine_cannot_make_is_refused_with_a_sentence(engine, tmp_path):
    final = submit(engine, tmp_path, """name: nfs
resources: {cluster: local}
mount:
  /shared: nfs://127.0.0.1/exports/x
run:
  - command: ls /shared
""")
    assert final.status == "failed"
    assert final.reason in (
        "cannot mount nfs://127.0.0.1/exports/x on cluster local: the host has no NFS client (install nfs-common).",
        "the NFS mount of nfs://127.0.0.1/exports/x failed on cluster local.")


def test_a_dataset_mount_is_a_copy_with_a_warning_and_a_volume_mount_is_refused(engine, tmp_path):
    import pytest

    from core.engine import EngineError

    train = submit(engine, tmp_path, "name: prep\nresources: {cluster: local}\nexport:\n  /out: vessl-dataset://me/digits\n"
                                     "run:\n  - command: mkdir -p out && echo 0,1 > out/d.csv\n")
    assert train.status == "succeeded"
    path = tmp_path / "use.yaml"
    path.write_text("name: use\nresources: {cluster: local}\nmount:\n  /data: vessl-dataset://me/digits\n"
                    "run:\n  - command: cat data/d.csv\n")
    plan = engine.plan(path)
    assert plan.warnings == ["mount `vessl-dataset://me/digits` at /data is a copy fetched before the run (read-only "
                             "data): changes to the source during the run are not seen, and writes are not sent back."]
    final = engine.wait(engine.submit(path).id, timeout=60)
    assert final.status == "succeeded" and engine.read_log(final.id)[0].decode() == "0,1\n"
    with pytest.raises(EngineError, match=r"mount `volume://storage/v` at /m is not supported on cluster local"):
        submit(engine, tmp_path, "name: m\nresources: {cluster: local}\nmount:\n  /m: volume://storage/v\n"
                                 "run:\n  - command: ls\n")


def test_dstack_instance_volumes_are_mounted_and_named_ones_refused(engine, tmp_path):
    import pytest

    from core.engine import EngineError

    host = tmp_path / "cache"
    host.mkdir()
    (host / "hit").write_text("cached\n")
    path = tmp_path / "task.dstack.yml"
    path.write_text(f"type: task\nvolumes:\n  - instance_path: {host}\n    path: /cache\n"
                    "commands:\n  - cat cache/hit && echo new > cache/new\n")
    final = engine.wait(engine.submit(path).id, timeout=60)
    assert final.status == "succeeded", engine.read_log(final.id, provisioning=True)[0].decode()
    assert engine.read_log(final.id)[0].decode() == "cached\n" and (host / "new").read_text() == "new\n"
    path.write_text("type: task\nvolumes:\n  - name: my-vol\n    path: /data\ncommands:\n  - ls /data\n")
    with pytest.raises(EngineError, match=r"named volume `my-vol` is not supported on cluster local"):
        engine.submit(path)


def test_an_optional_instance_volume_that_is_missing_is_left_out_and_said(engine, tmp_path):
    path = tmp_path / "task.dstack.yml"
    path.write_text(f"type: task\nvolumes:\n  - instance_path: {tmp_path / 'absent'}\n    path: /cache\n"
                    "    optional: true\ncommands:\n  - test ! -e cache && echo no cache\n")
    final = engine.wait(engine.submit(path).id, timeout=60)
    assert final.status == "succeeded", engine.read_log(final.id, provisioning=True)[0].decode()
    assert engine.read_log(final.id)[0].decode() == "no cache\n"
    assert (f"optional mount {tmp_path / 'absent'} does not exist; /cache left out"
            in engine.read_log(final.id, provisioning=True)[0].decode())
