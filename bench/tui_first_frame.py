"""First frame of the workstation vs a bare Textual hello-world app, measured in the same run.

Each app starts in a fresh interpreter (headless, 80x24) and prints once its first frame is
done; we time from spawning it to that line. Target: ours <= 1.5x the hello-world app.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

from _common import REPO, fresh_home

OURS = """
from tui.app import VesslApp
async def first_frame(pilot):
    await pilot.pause()
    print("frame", flush=True)
    pilot.app.exit()
VesslApp().run(headless=True, auto_pilot=first_frame, size=(80, 24))
"""
HELLO = """
from textual.app import App
from textual.widgets import Static
class Hello(App):
    def compose(self):
        yield Static("Hello, world")
async def first_frame(pilot):
    await pilot.pause()
    print("frame", flush=True)
    pilot.app.exit()
Hello().run(headless=True, auto_pilot=first_frame, size=(80, 24))
"""


def first_frame(code: str) -> float:
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    elapsed = time.perf_counter() - start
    proc.wait(timeout=30)
    assert line.strip() == "frame", f"no frame: {line!r}"
    return elapsed


USER_CONFIG = """\
clusters:
  gpu-box: {kind: ssh, host: gpu-box, user: me}
presets:
  cpu-small: {cpu: 2, memory: 4Gi}
keys:
  runs.stop: ctrl+k
"""


def main() -> None:
    home = fresh_home()
    for label, config in (("no config file", None), ("a config file with keys", USER_CONFIG)):
        config_file = home / "config.yaml"
        if config is None:
            config_file.unlink(missing_ok=True)
        else:
            config_file.write_text(config)
        ours, hello = [], []
        for _ in range(7):
            hello.append(first_frame(HELLO))
            ours.append(first_frame(OURS))
        o, h = statistics.median(ours), statistics.median(hello)
        print(f"first frame, {label} (median of 7): vessl-tui {o * 1000:.0f} ms, hello-world {h * 1000:.0f} ms, "
              f"ratio {o / h:.2f}x (target <= 1.5x)")


if __name__ == "__main__":
    main()
