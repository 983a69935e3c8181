"""Imports: any import source materialised as a folder (or file) on this machine. Backends then
place it: the local backend fetches straight into the run's folder; Docker tars the staged folder
into a volume; SSH uploads it over SFTP.

    fetch(volume, dest, provision, base)   -> None   the source's content at `dest`
    staged(volume, provision, base)        -> context manager yielding a local path (None: optional
                                              and missing), a temporary copy removed afterwards
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from core.backends.base import BackendError
from core.data import sources

if TYPE_CHECKING:
    from core.data.settings import StorageSettings
    from core.spec.runspec import Volume


def secret_of(volume: "Volume") -> str | None:
    """The config secret a volume's `credential_name` names (None when it names none)."""
    if not volume.credential:
        return None
    from core.config import load_config

    value = load_config().secret(volume.credential)
    if value is None:
        raise BackendError(f"credential `{volume.credential}` of {volume.source} is not a secret in the config; "
                           f"add it under `secrets:` (or set VESSL_TUI_SECRET_{volume.credential}).")
    return value


def settings_or_current(settings: "StorageSettings | None") -> "StorageSettings":
    from core.data.settings import current

    return settings if settings is not None else current()


def fetch(volume: "Volume", dest: Path, provision: Callable[[str], None], base: Path | None = None,
          settings: "StorageSettings | None" = None) -> None:
    """Put the content of `volume.source` at `dest` (a folder; a local file source is copied to
    `dest` itself). BackendError with one sentence naming the source when it cannot."""
    source = sources.parse(volume.source, volume.ref, base)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if source.kind == "local":
        path = Path(source.location)
        if not path.exists():
            if volume.optional:
                provision(f"import {volume.source} does not exist; optional, skipped")
                return
            raise BackendError(f"import source {path} does not exist; fix `{volume.source}` in the spec.")
        if path.is_dir():
            shutil.copytree(path, dest, symlinks=True, dirs_exist_ok=True)
        else:
            shutil.copy2(path, dest)
        provision(f"copied {path} to {volume.path}")
    elif source.kind == "git":
        from core.data import git

        git.clone(source.location, source.ref, dest, provision)
    elif source.kind == "object":
        from core.data import objstore

        objstore.download(source.location, dest, settings_or_current(settings), provision, secret_of(volume))
    elif source.kind == "registry":
        from core.data.registry import Registry

        registry = Registry(settings_or_current(settings))
        try:
            entry = registry.resolve(volume.source)
        except BackendError as exc:
            raise BackendError(f"cannot import {volume.source}: {exc}.") from None
        provision(f"importing {entry.uri} (from run {entry.source_run or '-'})")
        registry.fetch(entry, dest, provision)
    else:
        raise BackendError(sources.problem(volume, "this machine") or f"cannot import {volume.source}.")


@contextlib.contextmanager
def staged(volume: "Volume", provision: Callable[[str], None], base: Path | None = None,
           settings: "StorageSettings | None" = None) -> Iterator[Path | None]:
    """A local path holding the import: the source itself for a local path, else a temporary
    folder fetched into (removed on exit). None when an optional local source is missing."""
    source = sources.parse(volume.source, volume.ref, base)
    if source.kind == "local":
        path = Path(source.location)
        if not path.exists() and volume.optional:
            yield None
            return
        if not path.exists():
            raise BackendError(f"import source {path} does not exist on this machine; fix `{volume.source}` in the spec.")
        provision(f"copying {path} into {volume.path}")
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="vessl-tui-import-") as tmp:
        dest = Path(tmp) / "content"
        fetch(volume, dest, provision, base, settings)
        yield dest
