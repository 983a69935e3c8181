"""A key in a real terminal while a run floods its log: the installed `vessl-tui` in a detached
tmux window of 80x24, a run's detail open, `w` (wrap on / off) sent with `tmux send-keys`, timed
until the pane title's new state (`Log ─ follow ─ wrap` or back) is in the bytes the TUI writes to
the terminal (read through `tmux pipe-pane`), while the run prints 100,000 lines/s (1,000-line
batches every 10 ms, a plain local run submitted with `vessl-tui run`).

Baseline from the same run: the same key on a quiet run's log (a few lines, then sleep); the cases
alternate round by round (the flood producer writes only during its case). The clock starts before
the `tmux send-keys` process (a terminal's client, as a keystroke goes through) and stops when the
chunk holding the effect reaches us. Targets: flood p99 < 100 ms and <= 1.5x the quiet p99.

Usage: python bench/tui_keys_tmux.py [--rounds N] [--presses N]   (needs tmux; reaches 127.0.0.1 only)
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import select
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from _common import REPO, fresh_home, report_spread

RATE = 100_000
LINE = "step %09d loss 1.2345 lr 3e-4 tokens/s 12345"
#: The log pane's title as Textual writes it: `Log ─ follow[ ─ wrap]` then the style's reset.
TITLE = re.compile(rb" Log \xe2\x94\x80 (?:follow|paused)( \xe2\x94\x80 wrap)? \x1b")
WAIT = 20.0

PRODUCER = """
import os, sys, time
gate, rate, line = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode() + b"\\n"
per_tick, written, started, end = rate // 100, 0, None, time.monotonic() + 900
while time.monotonic() < end:
    if not os.path.exists(gate):          # the flood's case is over: idle, checking every 10 ms
        started = None
        time.sleep(0.01)
        continue
    if started is None:
        started, sent = time.perf_counter(), 0
    os.write(1, b"".join(line % (written + i) for i in range(per_tick)))
    written += per_tick
    sent += per_tick
    ahead = sent / rate - (time.perf_counter() - started)
    if ahead > 0:
        time.sleep(ahead)
"""


class PaneBytes:
    """What the program in the pane writes to the terminal, as tmux hands it to `pipe-pane`: a
    FIFO drained by a thread, each chunk stamped with the time it arrived."""

    def __init__(self, fifo: Path) -> None:
        os.mkfifo(fifo)
        self.fifo = fifo
        self.fd = os.open(fifo, os.O_RDWR)  # read-write: never an EOF while pipe-pane restarts its writer
        self.data = bytearray()
        self.stamps: list[tuple[int, float]] = []  # (end offset, arrival time) per chunk
        self.changed = threading.Condition()
        self.closed = False
        self.thread = threading.Thread(target=self._drain, daemon=True)
        self.thread.start()

    def _drain(self) -> None:
        while not self.closed:
            ready, _, _ = select.select([self.fd], [], [], 0.2)
            if not ready:
                continue
            chunk = os.read(self.fd, 1 << 16)
            now = time.perf_counter()
            with self.changed:
                self.data += chunk
                self.stamps.append((len(self.data), now))
                self.changed.notify_all()

    @property
    def offset(self) -> int:
        with self.changed:
            return len(self.data)

    def wait_title(self, since: int, wrap: bool, timeout: float = WAIT) -> float:
        """The arrival time of the first title drawn after offset `since` with wrap `wrap`."""
        deadline = time.perf_counter() + timeout
        start = max(0, since - 64)  # a title may straddle the chunk boundary at `since`
        with self.changed:
            while True:
                for match in TITLE.finditer(self.data, start):
                    if match.end() > since and bool(match.group(1)) == wrap:
                        return next(t for end, t in self.stamps if end >= match.end())
                start = max(start, len(self.data) - 64)
                left = deadline - time.perf_counter()
                if left <= 0:
                    raise TimeoutError(f"the log pane's title never showed wrap {'on' if wrap else 'off'} in {timeout:.0f} s")
                self.changed.wait(left)

    def close(self) -> None:
        self.closed = True
        self.thread.join(timeout=1)
        os.close(self.fd)


class Tmux:
    """A private tmux server (its own socket and config: no status line, a crashed program's
    pane stays readable) with one 80x24 session."""

    def __init__(self, name: str, folder: Path) -> None:
        config = folder / "tmux.conf"
        config.write_text("set -g status off\nset -g remain-on-exit on\n")
        self.base = ["tmux", "-L", name, "-f", str(config)]
        self.started = False

    def __call__(self, *args: str) -> str:
        return subprocess.run([*self.base, *args], check=True, capture_output=True, text=True, timeout=WAIT).stdout

    def start(self, command: list[str]) -> None:
        self.started = True
        self("new-session", "-d", "-x", "80", "-y", "24", "-s", "bench", "--", *command)
        size = self("display-message", "-p", "-t", "bench", "#{pane_width}x#{pane_height}").strip()
        assert size == "80x24", f"the pane is {size}, not 80x24"

    def keys(self, *keys: str, literal: bool = False) -> None:
        self("send-keys", "-t", "bench", *(["-l"] if literal else []), *keys)

    def screen(self) -> list[str]:
        return self("capture-pane", "-p", "-t", "bench").splitlines()

    def wait_screen(self, what: str, holds, timeout: float = WAIT) -> list[str]:
        """The screen once `holds(lines)` (read every 50 ms: setup only, never on the clock)."""
        deadline = time.monotonic() + timeout
        while True:
            lines = self.screen()
            if holds(lines):
                return lines
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {what} on screen after {timeout:.0f} s:\n" + "\n".join(lines))
            time.sleep(0.05)

    def pid(self) -> int:
        return int(self("display-message", "-p", "-t", "bench", "#{pane_pid}").strip())

    def kill(self) -> None:
        if self.started:
            subprocess.run([*self.base, "kill-server"], capture_output=True, timeout=WAIT)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def open_detail(tmux: Tmux, name: str) -> None:
    """From anywhere in the workstation to `name`'s detail, by keys: escape to the runs, `:logs NAME`."""
    if not any("╭─ Runs" in line for line in tmux.screen()):
        tmux.keys("Escape")
        tmux.wait_screen("runs screen", lambda lines: any("╭─ Runs" in line for line in lines))
    tmux.keys(":")
    tmux.wait_screen("command line", lambda lines: any("(tab completes)" in line for line in lines))
    tmux.keys(f"logs {name}", literal=True)
    tmux.keys("Enter")
    tmux.wait_screen(f"detail of {name}", lambda lines: lines[0].startswith(f" {name} ") and "Log ─ follow" in lines[1])


def presses(tmux: Tmux, pane: PaneBytes, count: int) -> tuple[list[float], list[float]]:
    """`w` `count` times, 0.1-0.3 s apart: seconds from send-keys to the title's new state, and
    how long each send-keys process took."""
    wrap = "─ wrap" in tmux.screen()[1]
    times, sends = [], []
    for _ in range(count):
        since = pane.offset
        start = time.perf_counter()
        tmux.keys("w")
        sends.append(time.perf_counter() - start)
        wrap = not wrap
        times.append(pane.wait_title(since, wrap) - start)
        time.sleep(random.uniform(0.1, 0.3))
    shown = "─ wrap" in tmux.screen()[1]
    if shown != wrap:
        raise RuntimeError(f"the title says wrap {'on' if shown else 'off'} after the presses, not {'on' if wrap else 'off'}")
    return times, sends


def last_step(lines: list[str]) -> int:
    """The highest flood line number on screen (0: none)."""
    return max((int(n) for line in lines for n in re.findall(r"step (\d{9})", line)), default=0)


def percentile(xs: list[float], q: float) -> float:
    """The nearest-rank q-quantile of seconds, in ms (p99 of 100 values: the second largest)."""
    return sorted(xs)[max(0, math.ceil(q * len(xs)) - 1)] * 1000


def submit(script: str, spec: Path) -> str:
    out = subprocess.run([script, "run", str(spec), "--json"], check=True, capture_output=True, text=True, timeout=60)
    return json.loads(out.stdout)["id"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="rounds of each case, alternated (default 5)")
    parser.add_argument("--presses", type=int, default=40, help="presses per case and round (default 40)")
    args = parser.parse_args()
    if not shutil.which("tmux"):
        sys.exit("tmux is not installed (Debian: apt-get install tmux)")
    script = shutil.which("vessl-tui", path=str(REPO / ".venv" / "bin")) or shutil.which("vessl-tui")
    if not script:
        sys.exit("no vessl-tui script: install the package (pip install -e .)")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the cleanup below runs
    folder = fresh_home()
    os.environ["VESSL_TUI_SUPERVISOR_SERVER"] = "0"  # leave no server behind
    gate = folder / "flooding"
    (folder / "producer.py").write_text(PRODUCER)
    (folder / "quiet.yaml").write_text(
        "type: task\nname: quiet\nmax_duration: 15m\ncommands:\n"
        "  - \"for i in 1 2 3 4 5; do echo quiet line $i; done; sleep 900\"\n")
    (folder / "flood.yaml").write_text(
        f"type: task\nname: flood\nmax_duration: 15m\ncommands:\n"
        f"  - \"{sys.executable} {folder / 'producer.py'} {gate} {RATE} '{LINE}'\"\n")
    tmux = Tmux(f"vessl-bench-{os.getpid()}", folder)
    pane: PaneBytes | None = None
    runs: list[str] = []
    try:
        from core import logs

        runs = [submit(script, folder / "quiet.yaml"), submit(script, folder / "flood.yaml")]
        flood_log = logs.output_log(runs[1], Path(os.environ["VESSL_TUI_HOME"]))
        pane = PaneBytes(folder / "pane.fifo")
        tmux.start(["env", f"VESSL_TUI_HOME={os.environ['VESSL_TUI_HOME']}",
                    f"VESSL_TUI_CONFIG={os.environ['VESSL_TUI_CONFIG']}", script])
        tmux("pipe-pane", "-o", "-t", "bench", f"cat > {pane.fifo}")
        tmux.wait_screen("runs screen with both runs running",
                         lambda lines: sum(" running " in line for line in lines) >= 2)
        tui_pid = tmux.pid()
        load_before = os.getloadavg()
        results = {"quiet": [], "flood": []}
        sends: list[float] = []
        cpu = {"quiet": [0.0, 0.0], "flood": [0.0, 0.0]}  # TUI CPU seconds, wall seconds
        lines_written = [0, 0.0]
        behind = 0  # the most lines the pane's last line was behind the log after a flood's presses
        for round_ in range(args.rounds + 1):  # round 0 warms up both cases and is not counted
            for case in ("quiet", "flood"):
                if case == "flood":
                    gate.touch()
                open_detail(tmux, case)
                time.sleep(1.0)  # the flood reaches its pace; the pane's first reads are done
                size, cpu0, wall0 = flood_log.stat().st_size, cpu_seconds(tui_pid), time.perf_counter()
                times, send = presses(tmux, pane, args.presses if round_ else 4)
                wall = time.perf_counter() - wall0
                shown = last_step(tmux.screen())
                if round_:
                    results[case] += times
                    sends += send
                    cpu[case][0] += cpu_seconds(tui_pid) - cpu0
                    cpu[case][1] += wall
                    if case == "flood":
                        lines_written[0] += (flood_log.stat().st_size - size) // (len(LINE % 0) + 1)
                        lines_written[1] += wall
                        behind = max(behind, flood_log.stat().st_size // (len(LINE % 0) + 1) - 1 - shown)
                gate.unlink(missing_ok=True)
        load_after = os.getloadavg()
    finally:
        gate.unlink(missing_ok=True)
        tmux.kill()
        if pane:
            pane.close()
        for run_id in runs:
            subprocess.run([script, "stop", run_id], capture_output=True, timeout=60)
        shutil.rmtree(folder, ignore_errors=True)

    quiet, flood = results["quiet"], results["flood"]
    what = "key w to the terminal, vessl-tui in tmux 80x24"
    report_spread(what, flood, quiet, "quiet log", "p99 < 100 ms, p99 <= 1.5x quiet")
    ratio = percentile(flood, 0.99) / percentile(quiet, 0.99)
    print(f"under {RATE:,} lines/s: p50 {percentile(flood, 0.5):.1f} ms, p90 {percentile(flood, 0.9):.1f} ms, "
          f"p99 {percentile(flood, 0.99):.1f} ms; quiet log: p50 {percentile(quiet, 0.5):.1f} ms, "
          f"p90 {percentile(quiet, 0.9):.1f} ms, p99 {percentile(quiet, 0.99):.1f} ms; "
          f"ratio of p99s {ratio:.2f}x — p99 < 100 ms {'met' if percentile(flood, 0.99) < 100 else 'MISSED'}, "
          f"<= 1.5x {'met' if ratio <= 1.5 else 'MISSED'}")
    print(f"during the flood's presses: {lines_written[0] / lines_written[1]:,.0f} lines/s written to the log, "
          f"the pane's last line at most {behind:,} lines ({behind / RATE * 1000:.0f} ms) behind the log's at the end; "
          f"TUI CPU: {100 * cpu['flood'][0] / cpu['flood'][1]:.0f}% of a core in the flood, "
          f"{100 * cpu['quiet'][0] / cpu['quiet'][1]:.0f}% quiet; "
          f"send-keys process median {statistics.median(sends) * 1000:.1f} ms (inside every figure)")
    print(f"load average (1 min) {load_before[0]:.2f} before, {load_after[0]:.2f} after; {os.cpu_count()} CPUs")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit("interrupted (the tmux server, the runs and the temp folder are gone)")
    except (TimeoutError, RuntimeError) as error:
        sys.exit(f"error: {error}")
