"""The live log of an SSH run: the exec channel that starts the run stays open and carries the
run's log as it is written, then the run's end, so the supervisor neither reads the log at offsets
nor polls the run's status while that channel lives.

    script = launch_script(...) + follow_script(offset)   # what `sh -s` reads on the host
    live = LiveLog.open(channel, link_alive)   # reads the launch's HEADER line: live.header = [pid, folder]
    live.chunks() -> Iterator[bytes]   # the log from `offset`, until the run ended or the link broke
    live.ended                      # threading.Event: set once chunks() ended, whatever the cause
    live.exit_text                  # what `status_command` would print (an exit code or "gone"),
                                    # None when the channel broke or the host cannot follow
    live.link_alive() -> bool       # whether the link under the channel still holds
    file_follow_command(folder, name, offset, pid)  # another file of the run (its metrics), the same way
    follower = FileFollower(session)                # its bytes; follower.done False: broken, go on another way

`channel` is a paramiko exec channel or a `core.sshmux.MuxSession` (an OpenSSH session through the
host's master): both read with `recv`/`recv_stderr` and end with `close`.

On the host, GNU `tail -f --pid` follows the log (woken by inotify as it grows) and, once the
run's wrapper exited (the launching shell's `wait` sees it), reads it to its end and exits; the script then writes
`exit:<code>` on the channel's stderr. A host whose `tail` lacks `--pid` (BusyBox) answers
`exit:unsupported` at once and the backend reads the log over SFTP as before; so does a supervisor
that took over a run (no channel to it) or whose channel broke (it goes on from the byte it got to).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

from core.backends.ssh_files import q
from core.curves.files import REPORTED

#: What the launch prints before its run's pid and folder (one line, space-separated).
HEADER = b"vessl-tui-launch: "
#: How often the host's `tail` checks by itself whether the run's wrapper is alive (seconds); the
#: wrapper's end normally wakes it at once (see `follow_script`).
PID_CHECK_S = 1.0
_CHUNK = 1 << 16


def follow_script(offset: int) -> str:
    """Shell lines, appended to the launch script (which set `pid`, in the run folder): stream the
    log from byte `offset` until the wrapper exits, then say how the run ended on stderr.

    The wrapper is this shell's child, so `wait` returns the moment it exits; a zero-length
    `truncate` of the log then wakes `tail` (an inotify modify event), which finds the wrapper gone,
    reads the log to its end and exits. Where `wait` or `truncate` cannot, `tail` notices by itself
    within PID_CHECK_S."""
    return (
        ": >> log\n"  # the wrapper may not have made it yet
        "if tail --pid=$$ -c 0 /dev/null 2>/dev/null; then\n"
        f"  tail -c +{offset + 1} -f --pid=\"$pid\" -s {PID_CHECK_S} log 2>/dev/null &\n"
        "  follower=$!\n"
        "  wait \"$pid\" 2>/dev/null || true\n"
        f"  truncate -s +0 log {REPORTED} 2>/dev/null || true; wait \"$follower\" || true\n"
        "  if [ -s exit_code ]; then printf 'exit:%s\\n' \"$(cat exit_code)\" >&2; else echo exit:gone >&2; fi\n"
        "else\n"
        "  echo exit:unsupported >&2\n"
        "fi\n"
    )


class LiveLog:
    """The reading end of a launch channel, once its header has been read."""

    def __init__(self, channel: Any, header: list[bytes], rest: bytes, link_alive: Callable[[], bool]):
        self.channel = channel
        self.link_alive = link_alive
        self.header = header
        self._rest = rest
        self.ended = threading.Event()
        self.exit_text: str | None = None

    @classmethod
    def open(cls, channel: Any, link_alive: Callable[[], bool]) -> tuple["LiveLog | None", bytes, bytes]:
        """Read up to the launch's `HEADER` line (what a login script printed before it is
        skipped). (LiveLog, b"", b"") once it came, its fields in `header`; else (None, stdout,
        stderr) of a launch that ended without it (it failed)."""
        buffer = b""
        while True:
            start = buffer.find(HEADER)
            if start >= 0 and (end := buffer.find(b"\n", start)) >= 0:
                header = buffer[start + len(HEADER):end].split(b" ", 1)
                return cls(channel, header, buffer[end + 1:], link_alive), b"", b""
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


def file_follow_command(folder: str, name: str, offset: int, pid: int) -> str:
    """A remote command printing the run folder's file `name` from byte `offset` as it grows,
    until the run's wrapper `pid` ended (the launch's end wakes it, see `follow_script`); prints
    `exit:unsupported` on stderr where `tail` cannot follow a pid."""
    return (f"cd {q(folder)} && : >> {q(name)} && if tail --pid=$$ -c 0 /dev/null 2>/dev/null; then "
            f"exec tail -c +{offset + 1} -f --pid={int(pid)} -s {PID_CHECK_S} {q(name)}; "
            "else echo exit:unsupported >&2; fi")


class FileFollower:
    """Iterates the bytes of a `file_follow_command` session; `done` is True afterwards when the
    file was followed to the run's end, False when the session broke or could not follow."""

    def __init__(self, session: Any):
        self.session = session
        self.done = False

    def __iter__(self) -> Iterator[bytes]:
        try:
            while data := self.session.recv(_CHUNK):
                yield data
            said = _read_stderr(self.session)
            self.done = self.session.exit_status() == 0 and b"exit:unsupported" not in said
        except Exception:  # noqa: BLE001 - a dropped link fails in the socket's or ssh's way
            self.done = False
        finally:
            self.session.close()


def _read_stderr(channel: Any) -> bytes:
    data = b""
    while chunk := channel.recv_stderr(_CHUNK):
        data += chunk
    return data
