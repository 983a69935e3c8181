"""The registry of datasets, models and artifacts: versioned folders in a storage root (a folder
under VESSL_TUI_HOME by default, or `storage.registry: s3://bucket/prefix` so a team shares it).

    vessl-dataset://org/name[/N]   vessl-model://org/repo[/N]   vessl-artifact://org/project/name[/N]

Layout: `<root>/<kind>s/<name>/<N>/…files` and its record `<root>/<kind>s/<name>/<N>.json`
({kind, name, version, size, files, source_run, run_name, created_at}). Without a version an import
takes the latest and an export adds the next one; `vessl-artifact://` alone is named after the run.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from core.backends.base import BackendError
from core.data import objstore
from core.data.settings import StorageSettings

KINDS = {"vessl-dataset": "dataset", "vessl-model": "model", "vessl-artifact": "artifact"}
NAME_PARTS = {"dataset": 2, "model": 2, "artifact": 3}
SCHEMES = {kind: scheme for scheme, kind in KINDS.items()}


@dataclass
class Entry:
    kind: str
    name: str
    version: int
    size: int = 0
    files: int = 0
    source_run: str | None = None
    run_name: str | None = None
    created_at: float = 0.0

    @property
    def uri(self) -> str:
        return f"{SCHEMES[self.kind]}://{self.name}/{self.version}"


def parse(uri: str) -> tuple[str, str | None, int | None]:
    """(kind, name or None for a bare `vessl-artifact://`, version or None) of a registry URI."""
    scheme, _, rest = uri.partition("://")
    kind = KINDS[scheme]
    parts = [p for p in rest.strip("/").split("/") if p]
    want = NAME_PARTS[kind]
    if kind == "artifact" and not parts:
        return kind, None, None
    version = None
    if len(parts) == want + 1 and parts[-1].isdigit():
        version = int(parts.pop())
    if len(parts) != want:
        shape = {"dataset": "org/name", "model": "org/repo", "artifact": "org/project/name"}[kind]
        raise BackendError(f"`{uri}` does not name a {kind}: use {scheme}://{shape}[/version]")
    return kind, "/".join(parts), version


class Registry:
    """One storage root; every method is blocking and raises BackendError with one sentence."""

    def __init__(self, settings: StorageSettings, home: Path | None = None):
        from core.paths import home_path

        self.settings = settings
        self.url = settings.registry or str((home or home_path()) / "registry")
        self.scheme = self.url.partition("://")[0] if "://" in self.url else "file"
        self.fs = objstore.filesystem(self.scheme, settings)
        self.root = self.fs._strip_protocol(self.url).rstrip("/")

    def _url(self, path: str) -> str:
        return path if self.scheme == "file" else f"{self.scheme}://{path}"

    def _base(self, kind: str, name: str) -> str:
        return f"{self.root}/{kind}s/{name}"

    def entries(self, kind: str | None = None) -> list[Entry]:
        """Every version of every entry (of `kind`), newest first."""
        found: list[Entry] = []
        for each in [kind] if kind else list(NAME_PARTS):
            base = f"{self.root}/{each}s"
            try:
                paths = self.fs.find(base) if self.fs.exists(base) else []
            except Exception as exc:
                raise BackendError(f"could not list the registry at {self.url}: {objstore.reason(exc)}.") from None
            for path in paths:
                if path.endswith(".json") and path.rsplit("/", 1)[-1][:-5].isdigit():
                    found.append(self._read(path))
        return sorted(found, key=lambda e: e.created_at, reverse=True)

    def _read(self, path: str) -> Entry:
        data: dict[str, Any] = json.loads(self.fs.cat_file(path))
        return Entry(**{k: data.get(k) for k in Entry.__dataclass_fields__ if k in data})

    def versions(self, kind: str, name: str, suffix: str = ".json") -> list[int]:
        """The stored versions (with `suffix=".reserve"`: those being stored right now)."""
        base = self._base(kind, name)
        if not self.fs.exists(base):
            return []
        names = [p.rstrip("/").rsplit("/", 1)[-1] for p in self.fs.ls(base, detail=False)]
        cut = len(suffix)
        return sorted(int(n[:-cut]) for n in names if n.endswith(suffix) and n[:-cut].isdigit())

    def _reserve(self, kind: str, name: str, version: int | None) -> int:
        """Claim a version number for a publish: `version`, else the next free one. In a folder
        registry the claim is exclusive (two runs exporting at once get two versions); in an object
        store it is best effort."""
        base = self._base(kind, name)
        taken = set(self.versions(kind, name)) | set(self.versions(kind, name, ".reserve"))
        want = version if version is not None else max(taken, default=0) + 1
        while True:
            if want in taken:
                if version is not None:
                    raise BackendError(f"{kind} `{name}` already has version {version}; export to "
                                       f"{SCHEMES[kind]}://{name} to add the next one")
                want += 1
                continue
            claim = f"{base}/{want}.reserve"
            if self.scheme != "file":
                self.fs.pipe_file(claim, b"")
                return want
            Path(base).mkdir(parents=True, exist_ok=True)
            try:
                os.close(os.open(claim, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
            except FileExistsError:
                taken.add(want)
                continue
            if not Path(f"{base}/{want}.json").exists():  # a publish writes its record before it
                return want                                # drops its claim: no record, no owner
            os.unlink(claim)
            taken.add(want)

    def resolve(self, uri: str) -> Entry:
        """The entry `uri` names (its latest version when none is given)."""
        kind, name, version = parse(uri)
        if name is None:
            raise BackendError("`vessl-artifact://` without a name can only be exported to; import "
                               "vessl-artifact://org/project/name")
        versions = self.versions(kind, name)
        if not versions:
            raise BackendError(f"the registry at {self.url} has no {kind} `{name}`")
        if version is None:
            version = versions[-1]
        elif version not in versions:
            raise BackendError(f"{kind} `{name}` has no version {version} (versions: "
                               f"{', '.join(map(str, versions))})")
        return self._read(f"{self._base(kind, name)}/{version}.json")

    def fetch(self, entry: Entry, dest: Path, provision: Callable[[str], None]) -> None:
        """The files of `entry` into folder `dest` (an empty version: an empty folder)."""
        if not entry.files:
            dest.mkdir(parents=True, exist_ok=True)
            return
        objstore.download(self._url(f"{self._base(entry.kind, entry.name)}/{entry.version}"), dest, self.settings,
                          provision)

    def publish(self, uri: str, src: Path, run_id: str, run_name: str | None,
                provision: Callable[[str], None]) -> Entry:
        """Store folder `src` as a new version of what `uri` names (an exact version must be new)."""
        kind, name, version = parse(uri)
        if name is None:
            name = f"local/runs/{run_name or run_id}"
        try:
            version = self._reserve(kind, name, version)
        except OSError as exc:
            raise BackendError(f"could not add to {kind} `{name}` in the registry at {self.url}: "
                               f"{objstore.reason(exc)}.") from None
        files = objstore.local_files(src) if src.exists() else {}
        entry = Entry(kind, name, version, sum(files.values()), len(files), run_id, run_name, time.time())
        base = self._base(kind, name)
        try:
            if files:
                objstore.upload(src, self._url(f"{base}/{version}"), self.settings, provision)
            try:
                self.fs.pipe_file(f"{base}/{version}.json", json.dumps(asdict(entry)).encode())
            except Exception as exc:
                raise BackendError(f"could not record {entry.uri} in the registry: {objstore.reason(exc)}.") from None
        finally:
            with contextlib.suppress(Exception):
                self.fs.rm_file(f"{base}/{version}.reserve")
        return entry

    def remove(self, entry: Entry) -> None:
        base = f"{self._base(entry.kind, entry.name)}/{entry.version}"
        try:
            self.fs.rm_file(f"{base}.json")
            if self.fs.exists(base):
                self.fs.rm(base, recursive=True)
        except Exception as exc:
            raise BackendError(f"could not remove {entry.uri}: {objstore.reason(exc)}.") from None
