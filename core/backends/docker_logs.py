"""Reading a container's log from the engine's log API, and resuming it where it was cut.

The Docker backend asks for the log with timestamps (`timestamps=1`): each frame of the
multiplexed stream then starts with the RFC 3339 time Docker stored the line at. `LogCursor`
strips that prefix, remembers the last time read and how many frames carried it, and on the next
read (after the engine restarted, or the stream was cut) asks for `since` that time and drops the
frames it already gave: no line twice, none missed. A supervisor that takes over a run starts
with the byte count its log file already holds (`skip`).

Pure, apart from `raw_chunks`, which reads a `requests` response.
"""

from __future__ import annotations

import calendar
import struct
import time
from collections.abc import Iterable, Iterator

_HEADER = struct.Struct(">BxxxL")


class StreamCut(ConnectionError):
    """The engine's answer ended before its last chunk: the engine went away mid-stream."""


def timestamp_ns(stamp: bytes) -> int:
    """Nanoseconds since the epoch of Docker's RFC 3339 time (`2026-12-04T17:50:01.1234Z`)."""
    text = stamp.decode("ascii")
    seconds = calendar.timegm(time.strptime(text[:19], "%Y-%m-%dT%H:%M:%S"))
    rest = text[19:]
    fraction = ""
    if rest.startswith("."):
        digits = len(rest) - len(rest[1:].lstrip("0123456789"))
        fraction, rest = rest[1:digits], rest[digits:]
    offset = 0
    if rest[:1] in ("+", "-"):  # Docker writes UTC ("Z"); an offset is honoured all the same
        hours, _, minutes = rest[1:].partition(":")
        offset = (int(hours) * 3600 + int(minutes or 0) * 60) * (1 if rest[0] == "+" else -1)
    return (seconds - offset) * 1_000_000_000 + int((fraction + "000000000")[:9])


class LogCursor:
    """How far a container's log was read: see the module docstring."""

    def __init__(self, skip: int = 0):
        self.skip = skip  # bytes of messages already in the run's log file (a reattached supervisor)
        self.last: bytes | None = None  # the timestamp of the last frame read
        self.at_last = 0  # frames read that carry `last`
        self._resume_ns: int | None = None
        self._resume_left = 0

    def since(self) -> str | None:
        """The `since` parameter of the next read (None: from the start), and get ready to drop the
        frames read already."""
        if self.last is None:
            return None
        self._resume_ns, self._resume_left = timestamp_ns(self.last), self.at_last
        return f"{self._resume_ns // 1_000_000_000}.{self._resume_ns % 1_000_000_000:09d}"

    def messages(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        """The new log bytes in `chunks` (the raw multiplexed stream): frames of one network read
        joined, so a fast producer costs one yield per read rather than one per line."""
        buffer = bytearray()
        for chunk in chunks:
            buffer += chunk
            out = bytearray()
            pos, size = 0, len(buffer)
            plain: list[int] = []  # where frames taken as they are start (their stamps noted after)
            view = memoryview(buffer)
            try:
                while size - pos >= 8:
                    (_, length) = _HEADER.unpack_from(buffer, pos)
                    end = pos + 8 + length
                    if end > size:
                        break
                    if self.skip or self._resume_ns is not None:  # catching up: frame by frame
                        message = self._take(bytes(view[pos + 8:end]))
                        if message:
                            out += message
                    else:
                        out += view[buffer.find(b" ", pos + 8, end) + 1:end]
                        plain.append(pos)
                    pos = end
                if plain:
                    self._note(buffer, plain)
            finally:
                view.release()
            del buffer[:pos]
            if out:
                yield bytes(out)

    def _note(self, buffer: bytearray, starts: list[int]) -> None:
        """Remember the stamp of the last of the frames at `starts` and how many carry it."""

        def stamp(pos: int) -> bytes:
            return bytes(buffer[pos + 8:buffer.find(b" ", pos + 8)])

        last, count, index = stamp(starts[-1]), 1, len(starts) - 2
        while index >= 0 and stamp(starts[index]) == last:
            count, index = count + 1, index - 1
        if index < 0 and last == self.last:
            count += self.at_last
        self.last, self.at_last = last, count

    def _take(self, frame: bytes) -> bytes:
        stamp, _, message = frame.partition(b" ")
        if self._resume_ns is not None:
            at = timestamp_ns(stamp)
            if at < self._resume_ns or (at == self._resume_ns and self._resume_left > 0):
                if at == self._resume_ns:
                    self._resume_left -= 1
                return b""
            self._resume_ns = None  # caught up
        if stamp == self.last:
            self.at_last += 1
        else:
            self.last, self.at_last = stamp, 1
        if self.skip:
            if len(message) <= self.skip:
                self.skip -= len(message)
                return b""
            message, self.skip = message[self.skip:], 0
        return message


def raw_chunks(response) -> Iterator[bytes]:
    """Body bytes of a streamed HTTP response as they arrive (never waiting for a full buffer).

    Docker sends log streams chunk-encoded, one HTTP chunk per log line; reading the socket in
    blocks and undoing the chunking here costs far less than one read call per chunk. A body cut
    before its last chunk raises StreamCut.
    """
    fp = getattr(getattr(response.raw, "_fp", None), "fp", None)
    if fp is None or not hasattr(fp, "read1"):
        return response.raw.stream(65536, decode_content=False)
    blocks = iter(lambda: fp.read1(65536), b"")
    if response.headers.get("Transfer-Encoding", "").lower() == "chunked":
        return dechunk(blocks)
    return blocks


def dechunk(blocks: Iterable[bytes]) -> Iterator[bytes]:
    """The payload of an HTTP/1.1 chunked body given as arbitrary blocks of its encoded bytes;
    StreamCut when the blocks end before the last (empty) chunk."""
    buffer = bytearray()
    for block in blocks:
        buffer += block
        out = bytearray()
        pos = 0
        while True:
            eol = buffer.find(b"\r\n", pos)
            if eol < 0:
                break
            size = int(bytes(buffer[pos:eol]).split(b";", 1)[0], 16)
            if size == 0:
                if out:
                    yield bytes(out)
                return
            end = eol + 2 + size
            if len(buffer) < end + 2:
                break
            out += buffer[eol + 2:end]
            pos = end + 2
        del buffer[:pos]
        if out:
            yield bytes(out)
    raise StreamCut("the engine's answer was cut before its end")
