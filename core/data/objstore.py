"""Object stores through fsspec: `s3://` (s3fs), `gs://` (gcsfs), `hf://` (huggingface_hub), and
plain folders (`file`) for the registry. Copies report files and bytes to the provisioning log;
credentials go to the file system object only, never to a message.

    filesystem(scheme, settings, secret) -> fsspec file system
    download(url, dest, settings, provision, secret) -> (files, bytes)
    upload(src, url, settings, provision, secret)     -> (files, bytes)
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.backends.base import BackendError
from core.data.settings import StorageSettings
from core.humanize import size as human_size

PACKAGES = {"s3": "s3fs", "gs": "gcsfs", "hf": "huggingface_hub"}
PROGRESS_SECONDS = 2.0


SDK_LOGGERS = ("gcsfs", "google", "grpc", "huggingface_hub", "s3fs", "aiobotocore", "botocore", "fsspec")
DEFAULT_ENDPOINTS = {"gs": "https://storage.googleapis.com", "hf": "https://huggingface.co"}
CONNECT_SECONDS = 5.0


def quiet_sdks() -> None:
    """The SDKs' own log records and warnings (tracebacks of retried requests among them) go
    nowhere: what failed reaches the user as the one sentence of our BackendError."""
    import logging
    import warnings

    for name in SDK_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
            logger.addHandler(logging.NullHandler())
        logger.propagate = False
    for module in ("gcsfs", "google", "huggingface_hub"):
        warnings.filterwarnings("ignore", module=module)


def endpoint_of(scheme: str, settings: StorageSettings) -> str | None:
    """The HTTP endpoint a store's requests go to (None: the SDK picks, e.g. AWS by region)."""
    if scheme == "gs":
        return settings.gs.endpoint_url or DEFAULT_ENDPOINTS["gs"]
    if scheme == "hf":
        return settings.hf.endpoint or os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINTS["hf"]
    if scheme == "s3":
        return settings.s3.endpoint_url
    return None


def preflight(scheme: str, settings: StorageSettings) -> None:
    """Fail in seconds, with one sentence, when the store's endpoint cannot be reached at all (the
    SDKs would retry for minutes)."""
    import socket
    from urllib.parse import urlparse

    endpoint = endpoint_of(scheme, settings)
    if not endpoint:
        return
    url = urlparse(endpoint)
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        socket.create_connection((url.hostname or "", port), timeout=CONNECT_SECONDS).close()
    except OSError as exc:
        why = exc.strerror or str(exc) or type(exc).__name__
        raise BackendError(f"cannot reach {endpoint} ({why.rstrip('.')}); check the network or the endpoint "
                           f"in `storage.{scheme}` of the config") from None


def filesystem(scheme: str, settings: StorageSettings, secret: str | None = None) -> Any:
    """An fsspec file system for `scheme`, logged in from `secret`, the config or the usual places."""
    quiet_sdks()
    gs_token = settings.gs.token or os.environ.get("GOOGLE_APPLICATION_CREDENTIALS")
    if scheme == "gs" and not (secret or gs_token):
        raise BackendError("no Google credentials: set GOOGLE_APPLICATION_CREDENTIALS or `storage.gs.token` "
                           "in the config (or a credential_name secret)")
    if scheme in ("s3", "gs", "hf"):
        preflight(scheme, settings)
    try:
        if scheme == "s3":
            from s3fs import S3FileSystem

            s3 = settings.s3
            kwargs: dict[str, Any] = {"client_kwargs": {k: v for k, v in (("endpoint_url", s3.endpoint_url),
                                                                         ("region_name", s3.region)) if v}}
            if secret:
                kwargs["key"], _, kwargs["secret"] = secret.partition(":")
            elif s3.access_key_id and s3.secret_access_key:
                kwargs["key"] = s3.access_key_id.get_secret_value()
                kwargs["secret"] = s3.secret_access_key.get_secret_value()
            if s3.profile:
                kwargs["profile"] = s3.profile
            kwargs["config_kwargs"] = {"connect_timeout": 10, "read_timeout": 60, "retries": {"max_attempts": 2}}
            return S3FileSystem(skip_instance_cache=True, **kwargs)
        if scheme == "gs":
            from gcsfs import GCSFileSystem

            gs = settings.gs
            return GCSFileSystem(token=secret or gs_token, project=gs.project, endpoint_url=gs.endpoint_url,
                                 skip_instance_cache=True)
        if scheme == "hf":
            from huggingface_hub import HfFileSystem

            hf = settings.hf
            token = secret or (hf.token.get_secret_value() if hf.token else None) or os.environ.get("HF_TOKEN")
            return HfFileSystem(endpoint=hf.endpoint or os.environ.get("HF_ENDPOINT"), token=token or False,
                                skip_instance_cache=True)
        if scheme in ("file", ""):
            from fsspec.implementations.local import LocalFileSystem

            return LocalFileSystem()
    except ImportError:
        raise BackendError(f"{scheme}:// needs the Python package {PACKAGES.get(scheme, scheme)}; "
                           f"pip install {PACKAGES.get(scheme, scheme)}") from None
    raise BackendError(f"{scheme}:// is not an object store this machine knows")


def reason(exc: BaseException) -> str:
    """A one-line reason for a storage failure (no traceback, no credentials: messages of the SDKs
    name URLs and error codes only)."""
    if isinstance(exc, BackendError):
        return str(exc)
    if isinstance(exc, FileNotFoundError):
        return "nothing there (no such bucket, prefix or repository)"
    if isinstance(exc, PermissionError):
        return "access denied: check the credentials"
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:300]


class Progress:
    """An fsspec callback counting files and bytes, writing a line every few seconds."""

    def __init__(self, what: str, total_files: int, total_bytes: int, provision: Callable[[str], None]):
        from fsspec.callbacks import Callback

        self.what, self.total_files, self.total_bytes, self.provision = what, total_files, total_bytes, provision
        self.files = self.bytes = 0
        self.last = time.monotonic()
        parent = self

        class Child(Callback):
            def relative_update(self, inc: int = 1) -> None:
                parent.bytes += inc or 0
                parent.tick()

        class Top(Callback):
            def relative_update(self, inc: int = 1) -> None:
                parent.files += inc or 0
                parent.tick()

            def branched(self, path_1: Any, path_2: Any, **kwargs: Any) -> Any:
                return Child()

        self.callback = Top()

    def tick(self) -> None:
        if time.monotonic() - self.last >= PROGRESS_SECONDS:
            self.last = time.monotonic()
            self.provision(self.line())

    def line(self) -> str:
        return (f"{self.what}: {self.files}/{self.total_files} files, "
                f"{human_size(self.bytes)} of {human_size(self.total_bytes)}")


def files_and_size(count: int, total: int) -> str:
    """`1 file, 8B` / `3 files, 1.2M`."""
    return f"{count} file{'' if count == 1 else 's'}, {human_size(total)}"


def _listing(fs: Any, root: str) -> dict[str, tuple[str, int]]:
    """{path relative to root: (full path, size)} of every file under root (root itself, when a
    file, under its own name)."""
    root = root.rstrip("/")
    out = {}
    for path, info in fs.find(root, detail=True).items():
        if info.get("type") == "directory":
            continue
        rel = path[len(root):].lstrip("/") if path.startswith(root + "/") else path.rsplit("/", 1)[-1]
        out[rel] = (path, int(info.get("size") or 0))
    return out


def download(url: str, dest: Path, settings: StorageSettings, provision: Callable[[str], None],
             secret: str | None = None) -> tuple[int, int]:
    """Every file under `url` into folder `dest` (a single object lands as `dest/<name>`)."""
    scheme = url.partition("://")[0] if "://" in url else "file"
    try:
        fs = filesystem(scheme, settings, secret)
        root = fs._strip_protocol(url)
        files = _listing(fs, root)
        if not files:
            raise FileNotFoundError(url)
        total = sum(size for _, size in files.values())
        provision(f"downloading {url}: {files_and_size(len(files), total)}")
        dest.mkdir(parents=True, exist_ok=True)
        remote = [path for path, _ in files.values()]
        local = [str(dest / rel) for rel in files]
        for path in local:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        progress = Progress(f"download {url}", len(files), total, provision)
        fs.get(remote, local, callback=progress.callback)
    except Exception as exc:  # SDK errors of every kind: one sentence naming the source
        raise BackendError(f"could not download {url}: {reason(exc)}.") from None
    provision(f"downloaded {url}: {files_and_size(len(files), total)}")
    return len(files), total


def local_files(src: Path) -> dict[str, int]:
    """{relative path: size} of the files under `src` (`src` itself when a file)."""
    if src.is_file():
        return {src.name: src.stat().st_size}
    return {str(p.relative_to(src)): p.stat().st_size for p in sorted(src.rglob("*")) if p.is_file()}


def upload(src: Path, url: str, settings: StorageSettings, provision: Callable[[str], None],
           secret: str | None = None) -> tuple[int, int]:
    """Every file under folder `src` to `url` (as a prefix); returns (files, bytes)."""
    scheme = url.partition("://")[0] if "://" in url else "file"
    files = local_files(src)
    total = sum(files.values())
    provision(f"uploading {files_and_size(len(files), total)} to {url}")
    try:
        fs = filesystem(scheme, settings, secret)
        root = fs._strip_protocol(url).rstrip("/")
        base = src if src.is_dir() else src.parent
        if scheme == "file":
            for rel in files:
                Path(root, rel).parent.mkdir(parents=True, exist_ok=True)
        progress = Progress(f"upload to {url}", len(files), total, provision)
        if files:
            fs.put([str(base / rel) for rel in files], [f"{root}/{rel}" for rel in files], callback=progress.callback)
    except Exception as exc:
        raise BackendError(f"could not upload to {url}: {reason(exc)}.") from None
    provision(f"uploaded {files_and_size(len(files), total)} to {url}")
    return len(files), total
