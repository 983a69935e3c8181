"""Exports: after the run (also after a failure) each export, already copied to this machine by
the backend (`local_copy`), goes to its destination; each outcome is one event of the run.

    local_copy(artifacts_dir, path) -> Path   where a backend puts export `path` on this machine
    deliver(ctx, record)            -> list of failure sentences (empty: every export landed)
    after_run(backend, ctx, handle, record) -> the same, with the backend's `finish` first

`record(status, message)` receives "done" with destination and size, "skipped" (nothing written)
or "failed" with one sentence.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from core.backends.base import BackendError
from core.data import sources
from core.humanize import size as human_size

if TYPE_CHECKING:
    from core.backends.base import Backend, RunContext
    from core.data.settings import StorageSettings


def local_copy(artifacts_dir: Path, path: str) -> Path:
    """`artifacts_dir/<last part of path>`: the run's copy of export `path`."""
    return artifacts_dir / (PurePosixPath(path.rstrip("/")).name or "root")


def after_run(backend: "Backend", ctx: "RunContext", handle: dict[str, Any], record: Callable[[str, str], None],
              settings: "StorageSettings | None" = None) -> list[str]:
    """The backend's `finish` (exports copied to this machine), then `deliver`. What failed comes
    back as sentences (also recorded); nothing raises."""
    failures = []
    try:
        backend.finish(ctx, handle)
    except Exception as exc:  # noqa: BLE001 - a failed copy must not lose the run's outcome
        sentence = f"copying the exports out of the run failed: {str(exc).rstrip('.')}."
        ctx.provision(sentence)
        record("failed", sentence)
        failures.append(sentence)
    return failures + deliver(ctx, record, settings)


def deliver(ctx: "RunContext", record: Callable[[str, str], None],
            settings: "StorageSettings | None" = None) -> list[str]:
    """Send every export of `ctx.spec` to its destination; failures are returned, not raised."""
    exports = [v for v in ctx.spec.volumes if v.kind == "export"]
    if not exports or ctx.artifacts_dir is None:
        return []
    base = Path(ctx.spec.source_file).parent if ctx.spec.source_file else None
    failures = []
    for volume in exports:
        local = local_copy(ctx.artifacts_dir, volume.path)
        if not local.exists():
            record("skipped", f"export {volume.path}: the run wrote nothing there")
            continue
        try:
            dest = _send(ctx, volume, local, base, settings)
        except BackendError as exc:
            sentence = f"export {volume.path} to {volume.source} failed: {str(exc).rstrip('.')}."
            ctx.provision(sentence)
            record("failed", sentence)
            failures.append(sentence)
            continue
        from core.data.objstore import local_files

        files = local_files(local)
        size = sum(files.values())
        record("done", f"export {volume.path} -> {dest} ({human_size(size)} = {size} bytes in "
                       f"{len(files)} file{'' if len(files) == 1 else 's'})")
    return failures


def _send(ctx: "RunContext", volume, local: Path, base: Path | None, settings: "StorageSettings | None") -> str:
    """Upload `local` to the volume's destination; return where it went."""
    from core.data.imports import secret_of, settings_or_current

    source = sources.parse(volume.source, None, base)
    if source.kind == "local":
        dest = Path(source.location)
        try:
            if local.is_dir():
                shutil.copytree(local, dest, symlinks=True, dirs_exist_ok=True)
            else:
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(local, dest)
        except OSError as exc:
            raise BackendError(f"cannot write {dest}: {exc.strerror or exc}") from None
        ctx.provision(f"copied export {volume.path} to {dest}")
        return str(dest)
    if source.kind == "volume":
        ctx.provision(f"export {volume.path} kept in {local} ({volume.source} is VESSL-hosted storage)")
        return str(local)
    if source.kind == "object":
        from core.data import objstore

        objstore.upload(local, source.location, settings_or_current(settings), ctx.provision, secret_of(volume))
        return source.location
    if source.kind == "registry":
        from core.data.registry import Registry

        entry = Registry(settings_or_current(settings)).publish(volume.source, local, ctx.run_id, ctx.spec.name,
                                                                ctx.provision)
        ctx.provision(f"stored export {volume.path} as {entry.uri}")
        return entry.uri
    raise BackendError(sources.problem(volume, ctx.cluster.name) or f"cannot export to {volume.source}")
