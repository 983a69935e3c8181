"""The workstation in a real terminal at 80x24, as a user over SSH runs it: tmux starts
`vessl-tui`, keys go in with send-keys, the screen comes back with capture-pane."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.tui.conftest import local_spec

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


class Tmux:
    def __init__(self, socket: str) -> None:
        self.socket = socket

    def __call__(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, check=check)

    def screen(self) -> str:
        return self("capture-pane", "-p", "-t", "tui").stdout

    def wait_for(self, text: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        shown = ""
        while time.monotonic() < deadline:
            shown = self("capture-pane", "-p", "-t", "tui", check=False).stdout
            if text in shown:
                return shown
            time.sleep(0.2)
        raise AssertionError(f"{text!r} never appeared; the screen was:\n{shown}")

    def alive(self) -> bool:
        return self("has-session", "-t", "tui", check=False).returncode == 0


@pytest.fixture
def tmux(tmp_path: Path):
    mux = Tmux(f"vessl-tui-test-{os.getpid()}")
    yield mux
    mux("kill-server", check=False)


def test_start_open_logs_and_quit_at_80x24(tmux: Tmux, engine, write_spec, vessl_home: Path, config_file: Path) -> None:
    run = engine.submit(str(write_spec("hello", local_spec("hello-tmux", "echo 'hello from tmux line'"))))
    engine.wait(run.id, timeout=60)
    _start(tmux, vessl_home, config_file)
    screen = tmux.wait_for("hello-tmux")
    assert "runs" in screen and "succeeded" in screen
    assert len(screen.splitlines()) <= 24 and all(len(line) <= 80 for line in screen.splitlines())
    tmux("send-keys", "-t", "tui", "Enter")
    screen = tmux.wait_for("hello from tmux line")
    assert "hello-tmux" in screen
    tmux("send-keys", "-t", "tui", "C-q")
    deadline = time.monotonic() + 15
    while tmux.alive() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not tmux.alive(), "ctrl+q did not quit"


def _start(tmux: Tmux, vessl_home: Path, config_file: Path) -> None:
    env = f"VESSL_TUI_HOME={shlex.quote(str(vessl_home))} VESSL_TUI_CONFIG={shlex.quote(str(config_file))} TERM=xterm-256color"
    command = f"cd {shlex.quote(str(REPO))} && env {env} {shlex.quote(sys.executable)} -m tui.launch"
    tmux("new-session", "-d", "-s", "tui", "-x", "80", "-y", "24", command)


def test_shell_key_hands_the_terminal_to_the_run_and_comes_back(
    tmux: Tmux, engine, write_spec, vessl_home: Path, config_file: Path, tmp_path: Path
) -> None:
    run = engine.submit(str(write_spec("sleepy", local_spec("shell-target", "sleep 300"))))
    deadline = time.monotonic() + 30
    while engine.get(run.id).status != "running" and time.monotonic() < deadline:
        time.sleep(0.1)
    out = tmp_path / "shell-saw.txt"
    _start(tmux, vessl_home, config_file)
    tmux.wait_for("shell-target")
    tmux("send-keys", "-t", "tui", "Enter")
    tmux.wait_for("Log ─ follow")  # the run's screen
    tmux("send-keys", "-t", "tui", "x")
    deadline = time.monotonic() + 20
    while "╭" in tmux.screen() and time.monotonic() < deadline:  # the TUI steps aside
        time.sleep(0.2)
    tmux("send-keys", "-t", "tui", f'echo "$VESSL_TUI_RUN_ID $PWD" > {out}; exit', "Enter")
    screen = tmux.wait_for("Shell exited with 0")
    assert "shell-target" in screen  # the run's screen is back
    seen_id, seen_dir = out.read_text().split()
    assert seen_id == run.id
    assert Path(seen_dir).is_dir()
    tmux("send-keys", "-t", "tui", "C-q")
