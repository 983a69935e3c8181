"""A file inside a container, followed as it grows: how the Docker backend brings back the file a
run writes at `$VESSL_TUI_METRICS`.

While the container runs, `tail -c +N -F` in it (an exec: any engine, local or over ssh://) streams
what is appended; once it stopped, the file is read once more from the stopped container
(`get_archive`) for anything the tail had not passed on. An image without `sh` and `tail` gets the
whole file at the end only.
"""

from __future__ import annotations

import contextlib
import io
import shlex
import tarfile
import time
from collections.abc import Iterator
from typing import Any

#: Where a run in a container writes its metrics ($VESSL_TUI_METRICS): writable by any user.
CONTAINER_METRICS = "/tmp/vessl-tui-metrics.jsonl"
IDLE_CHECK_SECONDS = 1.0


def follow_file(api: Any, container_id: str, path: str, offset: int) -> Iterator[bytes]:
    """Yield the bytes of `path` in the container after byte `offset`, until the container stopped
    and the file is drained. A missing file yields nothing."""
    import docker.errors

    while _running(api, container_id):
        script = f"exec tail -c +{offset + 1} -F {shlex.quote(path)} 2>/dev/null"
        try:
            exec_id = api.exec_create(container_id, ["sh", "-c", script], stdout=True, stderr=False)["Id"]
            for chunk in api.exec_start(exec_id, stream=True):
                offset += len(chunk)
                yield chunk
        except docker.errors.APIError:
            pass  # no shell in the image, or the container stopped: the end reads the file
        if _running(api, container_id):
            time.sleep(IDLE_CHECK_SECONDS)  # the tail ended early (no tail in the image): wait for the end
    data = read_file(api, container_id, path)
    if len(data) > offset:
        yield data[offset:]


def _running(api: Any, container_id: str) -> bool:
    import docker.errors

    try:
        return bool(api.inspect_container(container_id)["State"].get("Running"))
    except docker.errors.NotFound:
        return False


def read_file(api: Any, container_id: str, path: str) -> bytes:
    """The whole of one file of a container (running or stopped); b"" when it does not exist."""
    import docker.errors

    try:
        stream, _ = api.get_archive(container_id, path)
        raw = b"".join(stream)
    except docker.errors.NotFound:
        return b""
    with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
        for member in tar.getmembers():
            if member.isfile():
                handle = tar.extractfile(member)
                if handle is not None:
                    with contextlib.closing(handle):
                        return handle.read()
    return b""
