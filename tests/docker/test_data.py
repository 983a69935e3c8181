"""Data in and out of Docker runs: S3 (a real moto server), git at a SHA, host-path mounts."""

from __future__ import annotations

from pathlib import Path

from tests.docker.helpers import backend_at, context, execute, spec_of
from tests.fixtures.s3 import s3, s3_server  # noqa: F401
from tests.support import git_repo


def run(dockerd: str, tmp_path: Path, yaml: str):
    backend = backend_at(dockerd)
    ctx = context(spec_of(yaml), tmp_path, backend)
    try:
        info, log, _ = execute(backend, ctx)
    finally:
        backend.cleanup(ctx, None)
    return info, log, ctx


def test_s3_prefix_imported_and_folder_exported(dockerd, tmp_path, s3):
    s3.fs.pipe({f"{s3.bucket}/ds/a.txt": b"alpha\n", f"{s3.bucket}/ds/sub/b.txt": b"beta\n"})
    info, log, ctx = run(dockerd, tmp_path, f"""
name: s3
image: test/busybox
import:
  /data: s3://{s3.bucket}/ds
mount:
  /ro: s3://{s3.bucket}/ds
export:
  /out: s3://{s3.bucket}/out
run:
  - command: cat /data/a.txt /data/sub/b.txt /ro/a.txt && mkdir -p /out/ckpt && echo w > /out/ckpt/w.bin
  - command: touch /ro/x 2>/dev/null || echo the mounted copy is read-only
""")
    assert (info.exit_code, log) == (0, "alpha\nbeta\nalpha\nthe mounted copy is read-only\n"), ctx.provision.text
    assert s3.fs.cat(f"{s3.bucket}/out/ckpt/w.bin") == b"w\n"
    assert f"done: export /out -> s3://{s3.bucket}/out (2B = 2 bytes in 1 file)" in ctx.provision.text


def test_git_at_a_sha_and_host_paths_read_only_unless_asked(dockerd, tmp_path):
    repo = tmp_path / "repo"
    shas = git_repo(repo, [{"v.txt": "v1\n"}, {"v.txt": "v2\n"}])
    shared = tmp_path / "shared"
    shared.mkdir()
    info, log, ctx = run(dockerd, tmp_path, f"""
name: git
image: test/busybox
import:
  /code:
    git: {{url: "git://{repo}", ref: {shas[0]}}}
mount:
  /ro: hostpath://{shared}
  /rw:
    hostpath: {{path: {shared}}}
    readonly: false
run:
  - command: cat /code/v.txt; touch /ro/x 2>/dev/null || echo ro refused; echo ok > /rw/y && cat /rw/y
""")
    assert (info.exit_code, log) == (0, "v1\nro refused\nok\n"), ctx.provision.text
    assert not (shared / "x").exists() and (shared / "y").read_text() == "ok\n"
