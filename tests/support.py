"""Helpers every test area shares: the CLI as a real process, and waiting for a condition."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Callable
from typing import TypeVar

from tests.conftest import REPO

T = TypeVar("T")


def cli(*args: str, timeout: float = 120, **kwargs) -> subprocess.CompletedProcess:
    """`vessl-tui ARGS` as a real process (same VESSL_TUI_HOME / VESSL_TUI_CONFIG as the test)."""
    return subprocess.run(
        [sys.executable, "-m", "core.cli.main", *args],
        cwd=REPO, capture_output=True, text=True, timeout=timeout, **kwargs,
    )


def until(predicate: Callable[[], T], timeout: float = 60.0, what: str = "the condition",
          interval: float = 0.05) -> T:
    """The first truthy value of `predicate()`, polled every `interval` s; AssertionError after
    `timeout` s naming `what`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port: int, timeout: float = 20.0) -> None:
    """Return once something accepts connections on 127.0.0.1:`port`; AssertionError after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listens on port {port}")


def git_repo(path, contents: list[dict[str, str]]) -> list[str]:
    """A git repository at `path` (branch main) with one commit per mapping of file name -> text;
    returns the commits' SHAs, oldest first."""
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    shas = []
    for files in contents:
        for name, text in files.items():
            (path / name).write_text(text)
        subprocess.run(["git", "-C", str(path), "add", "."], check=True)
        subprocess.run(["git", "-C", str(path), "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "c"],
                       check=True)
        shas.append(subprocess.run(["git", "-C", str(path), "rev-parse", "HEAD"], capture_output=True, text=True,
                                   check=True).stdout.strip())
    return shas
