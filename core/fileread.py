"""Reading a file a user named without ever hanging on it.

    read_user_file(path, limit) -> bytes     at most `limit` bytes; OSError with a sentence otherwise

A regular file is read as usual. A FIFO or pipe (`<(cmd)`, a named pipe) is opened without waiting
for a writer and read until its end, but gives up after `FIFO_WAIT_SECONDS` without a byte: a FIFO
that nobody writes to is an error, not a hang. Devices, sockets and the like are refused.
"""

from __future__ import annotations

import os
import select
import stat

#: How long a FIFO may stay silent before reading it is given up.
FIFO_WAIT_SECONDS = 3.0


class NotReadable(OSError):
    """The path is not something a spec can be read from; `str()` is the sentence."""


def read_user_file(path: str, limit: int) -> bytes:
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISREG(mode):
            os.set_blocking(fd, True)
            with os.fdopen(os.dup(fd), "rb") as fh:
                return fh.read(limit)
        if not stat.S_ISFIFO(mode):
            raise NotReadable("this is not a regular file (a device or socket); give a spec file")
        chunks: list[bytes] = []
        size = 0
        while size < limit:
            if not select.select([fd], [], [], FIFO_WAIT_SECONDS)[0]:
                raise NotReadable(f"this FIFO gave nothing for {FIFO_WAIT_SECONDS:g} s; write the spec into it, "
                                  "or give a spec file")
            chunk = os.read(fd, min(65536, limit - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)
