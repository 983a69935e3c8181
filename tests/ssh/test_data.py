"""Data in and out of runs on an SSH host: S3 (a real moto server), host-path mounts, NFS."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.backends.base import BackendError
from core.data.exports import after_run
from core.spec.runspec import Volume
from tests.fixtures.s3 import s3, s3_server  # noqa: F401
from tests.ssh.conftest import spec_of


def test_s3_prefix_imported_and_folder_exported(start_run, s3) -> None:
    s3.fs.pipe({f"{s3.bucket}/ds/a.txt": b"alpha\n", f"{s3.bucket}/ds/sub/b.txt": b"beta\n"})
    run = start_run(spec_of("cat data/a.txt data/sub/b.txt; mkdir -p out; echo w > out/w.bin",
                            volumes=[Volume(kind="import", path="data", source=f"s3://{s3.bucket}/ds"),
                                     Volume(kind="export", path="out", source=f"s3://{s3.bucket}/out")]))
    assert run.wait().exit_code == 0
    assert run.log == "alpha\nbeta\n"
    events: list[tuple[str, str]] = []
    assert after_run(run.backend, run.ctx, run.handle, lambda *event: events.append(event)) == []
    assert s3.fs.cat(f"{s3.bucket}/out/w.bin") == b"w\n"
    assert events == [("done", f"export out -> s3://{s3.bucket}/out (2B = 2 bytes in 1 file)")]


def test_host_paths_are_read_only_unless_asked(start_run, tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "in.txt").write_text("host\n")
    run = start_run(spec_of("cat ro/in.txt; touch ro/x 2>/dev/null || echo ro refused; echo ok > rw/y",
                            volumes=[Volume(kind="mount", path="ro", source=f"hostpath://{shared}", readonly=True),
                                     Volume(kind="mount", path="rw", source=f"hostpath://{shared}")]))
    assert run.wait().exit_code == 0
    assert run.log == "host\nro refused\n"
    assert not (shared / "x").exists() and (shared / "y").read_text() == "ok\n"
    run.backend.finish(run.ctx, run.handle)
    run.backend.cleanup(run.ctx, run.handle)
    assert (shared / "in.txt").read_text() == "host\n"  # removing the run's folder leaves the host's files


def test_an_nfs_mount_the_host_cannot_make_is_refused_with_a_sentence(start_run, cluster) -> None:
    with pytest.raises(BackendError) as err:
        start_run(spec_of("true", volumes=[Volume(kind="mount", path="n", source="nfs://127.0.0.1/exports/x")]))
    assert str(err.value) in (
        f"cannot mount nfs://127.0.0.1/exports/x on cluster {cluster.name}: the host has no NFS client "
        "(install nfs-common).",
        f"the NFS mount of nfs://127.0.0.1/exports/x failed on cluster {cluster.name}.")


def test_sources_no_backend_serves_are_refused_at_submit(backend, cluster) -> None:
    problems = backend.validate(spec_of("true", volumes=[
        Volume(kind="mount", path="m", source="volume://storage/v"), Volume(kind="named", path="/v", source="vol")]))
    assert problems == [
        f"mount `volume://storage/v` at m is not supported on cluster {cluster.name}: mounts here are hostpath://, "
        "nfs://, and copies of s3://, gs://, hf:// and vessl-dataset:// (fetched before the run).",
        f"named volume `vol` at /v is not supported on cluster {cluster.name} (an SSH host); use an instance path "
        "(`/host/path:/v`)."]
