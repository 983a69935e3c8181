"""The live log of an SSH run: the exec channel that starts the run stays open and carries the
run's log as it is written, then the run's end, so the supervisor neither reads the log at offsets
nor polls the run's status while that channel lives.

    script = launch_script(...) + follow_script(offset)   # what `sh -s` reads on the host
    live = LiveLog.open(channel)    # reads the launch's HEADER line: live.header = [pid, run folder]
    live.chunks() -> Iterator[bytes]   # the log from `offset`, until the run ended or the link broke
    live.ended                      # threading.Event: set once chunks() ended, whatever the cause
    live.exit_text                  # what `status_command` would print (an exit code or "gone"),
                                    # None when the channel broke or the host cannot follow

On the host, GNU `tail -f --pid` follows the log (woken by inotify as it grows) and, after the
run's wrapper exits, reads it to its end once more and exits; the script then writes
`exit:<code>` on the channel's stderr. A host whose `tail` lacks `--pid` (BusyBox) answers
`exit:unsupported` at once and the backend reads the log over SFTP as before; so does a supervisor
that took over a run (no channel to it) or whose channel broke (it goes on from the byte it got to).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

#: What the launch prints before its run's pid and folder (one line, space-separated).
HEADER = b"vessl-tui-launch: "
#: How often the host's `tail` checks whether the run's wrapper is still alive (seconds).
PID_CHECK_S = 0.1
_CHUNK = 1 << 16


def follow_script(offset: int) -> str:
    """Shell lines, appended to the launch script (which set `pid`, in the run folder): stream the
    log from byte `offset` until the wrapper exits, then say how the run ended on stderr."""
    return (
        ": >> log\n"  # the wrapper may not have made it yet
        "if tail --pid=$$ -c 0 /dev/null 2>/dev/null; then\n"
        f"  tail -c +{offset + 1} -f --pid=\"$pid\" -s {PID_CHECK_S} log 2>/dev/null || true\n"
        "  if [ -s exit_code ]; then printf 'exit:%s\\n' \"$(cat exit_code)\" >&2; else echo exit:gone >&2; fi\n"
        "else\n"
        "  echo exit:unsupported >&2\n"
        "fi\n"
    )


class LiveLog:
    """The reading end of a launch channel, once its header has been read."""

    def __init__(self, channel: Any, header: list[bytes], rest: bytes):
        self.channel = channel
        self.header = header
        self._rest = rest
        self.ended = threading.Event()
        self.exit_text: str | None = None

    @classmethod
    def open(cls, channel: Any) -> tuple["LiveLog | None", bytes, bytes]:
        """Read up to the launch's `HEADER` line (what a login script printed before it is
        skipped). (LiveLog, b"", b"") once it came, its fields in `header`; else (None, stdout,
        stderr) of a launch that ended without it (it failed)."""
        buffer = b""
        while True:
            start = buffer.find(HEADER)
            if start >= 0 and (end := buffer.find(b"\n", start)) >= 0:
                header = buffer[start + len(HEADER):end].split(b" ", 1)
                return cls(channel, header, buffer[end + 1:]), b"", b""
            data = channel.recv(_CHUNK)
            if not data:
                err = _read_stderr(channel)
                channel.close()
                return None, buffer, err
            buffer += data

    def chunks(self) -> Iterator[bytes]:
        """The log's bytes as the host's `tail` sends them; ends at the run's end or a broken link
        (then `exit_text` is None)."""
        try:
            if self._rest:
                rest, self._rest = self._rest, b""
                yield rest
            while data := self.channel.recv(_CHUNK):
                yield data
            said = _read_stderr(self.channel).decode(errors="replace").strip().splitlines()
            last = said[-1] if said else ""
            if last.startswith("exit:") and last != "exit:unsupported":
                self.exit_text = last[len("exit:"):]
        except Exception:  # noqa: BLE001 - a dropped link fails in paramiko's or the socket's way
            self.exit_text = None
        finally:
            self.close()
            self.ended.set()

    def close(self) -> None:
        try:
            self.channel.close()
        except Exception:  # noqa: BLE001 - closing a channel on a dead link
            pass


def _read_stderr(channel: Any) -> bytes:
    data = b""
    while chunk := channel.recv_stderr(_CHUNK):
        data += chunk
    return data
