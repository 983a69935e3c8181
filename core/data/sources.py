"""What a source URI of a spec names, and which clusters can use it. Pure: no I/O but `exists`.

Kinds: `local` (a path, `file://`, `hostpath://`), `git` (`git://`, `git+…://`, `….git`, `git@…`,
or a local repository given with a `ref`), `object` (`s3://`, `gs://`, `hf://`), `registry`
(`vessl-dataset://`, `vessl-model://`, `vessl-artifact://`), `nfs` (`nfs://server/path`),
`volume` (`volume://storage/name`, VESSL-hosted storage) and `other` (forms nothing here serves).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.spec.runspec import Volume

OBJECT_SCHEMES = ("s3", "gs", "hf")
REGISTRY_SCHEMES = ("vessl-dataset", "vessl-model", "vessl-artifact")


@dataclass(frozen=True)
class Source:
    """`location` is the path (local), the URL to clone (git), the fsspec URL (object), the part
    after `://` (registry, volume) or `server:/path` (nfs)."""

    uri: str
    kind: str
    scheme: str
    location: str
    ref: str | None = None


def split(uri: str) -> tuple[str, str]:
    """(`scheme`, rest) of `uri`; a plain path has scheme ""."""
    if "://" in uri:
        scheme, _, rest = uri.partition("://")
        return scheme.lower(), rest
    return "", uri


def local_path(rest: str, base: Path | None) -> Path:
    """A path of a spec: `~` expanded, relative ones against `base` (the spec's folder)."""
    path = Path(rest).expanduser()
    return path if path.is_absolute() or base is None else base / path


def parse(uri: str, ref: str | None = None, base: Path | None = None) -> Source:
    scheme, rest = split(uri)
    if scheme in ("", "file", "hostpath"):
        path = local_path(rest, base)
        if ref and (path.suffix == ".git" or (path / ".git").exists()):
            return Source(uri, "git", scheme, str(path), ref)
        return Source(uri, "local", scheme, str(path), ref)
    if scheme == "git":
        url = rest if rest.startswith("/") else f"https://{rest}"
        return Source(uri, "git", scheme, url, ref)
    if scheme.startswith("git+"):
        return Source(uri, "git", scheme, f"{scheme[4:]}://{rest}", ref)
    if uri.startswith("git@") or (scheme in ("https", "http", "ssh") and rest.rstrip("/").endswith(".git")):
        return Source(uri, "git", scheme, uri, ref)
    if scheme in OBJECT_SCHEMES:
        if scheme == "hf":
            rest = rest.removeprefix("huggingface.co/")
            parts = rest.split("/")
            cut = 3 if parts[0] in ("datasets", "spaces") else 2
            if ref and "@" not in "/".join(parts[:cut]):
                rest = "/".join([*parts[:cut - 1], f"{parts[cut - 1]}@{ref}", *parts[cut:]])
        return Source(uri, "object", scheme, f"{scheme}://{rest}", ref)
    if scheme in REGISTRY_SCHEMES:
        return Source(uri, "registry", scheme, rest.strip("/"), ref)
    if scheme == "nfs":
        server, _, path = rest.partition("/")
        return Source(uri, "nfs", scheme, f"{server}:/{path}", ref)
    if scheme == "volume":
        return Source(uri, "volume", scheme, rest, ref)
    return Source(uri, "other", scheme, rest, ref)


def git_url(uri: str) -> str | None:
    """The URL to clone when `uri` is a git source, else None."""
    source = parse(uri)
    return source.location if source.kind == "git" else None


IMPORT_KINDS = ("local", "git", "object", "registry")
COPIED_MOUNT_KINDS = ("object", "registry")  # a mount of these is a read-only copy made before the run


def copied_mount(volume: "Volume") -> bool:
    """True for a mount served as a copy fetched before the run (object stores, the registry)."""
    return volume.kind == "mount" and parse(volume.source).kind in COPIED_MOUNT_KINDS


def copy_notes(volumes: list["Volume"]) -> list[str]:
    """A warning per mount served as a copy: what the run sees and what it does not."""
    return [f"mount `{v.source}` at {v.path} is a copy fetched before the run (read-only data): changes to "
            "the source during the run are not seen, and writes are not sent back." for v in volumes if copied_mount(v)]
EXPORT_KINDS = ("local", "object", "registry", "volume")


def problem(volume: "Volume", cluster: str, mount_kinds: tuple[str, ...] = ("local", "nfs")) -> str | None:
    """One sentence when `volume` cannot be served on `cluster` (whose backend mounts
    `mount_kinds` itself), else None. Imports, exports and copied mounts go through this machine,
    so every backend serves the same ones."""
    source = parse(volume.source, volume.ref)
    where = f"{volume.kind} `{volume.source}` at {volume.path}"
    if volume.kind == "import" and source.kind not in IMPORT_KINDS:
        return (f"{where} is not supported on cluster {cluster}: imports come from git, local paths, "
                "s3://, gs://, hf:// or vessl-dataset/model/artifact://.")
    if volume.kind == "export" and source.kind not in EXPORT_KINDS:
        return (f"{where} is not supported on cluster {cluster}: exports go to local paths, s3://, gs:// "
                "or vessl-dataset/model/artifact://.")
    if volume.kind == "mount" and source.kind not in mount_kinds + COPIED_MOUNT_KINDS:
        return (f"{where} is not supported on cluster {cluster}: mounts here are hostpath://, nfs://, and copies "
                "of s3://, gs://, hf:// and vessl-dataset:// (fetched before the run).")
    return None
