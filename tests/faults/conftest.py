"""Fixtures of the fault suite: real processes and servers on 127.0.0.1, bounded loops, and one
summary line per fault (`fault <name>: tried N, lost N, failed N, tracebacks N`) printed at the end
of the session (and written to $VESSL_TUI_FAULTS_SUMMARY when set).

    def test_kill_clients(fault):
        report = fault("kill -9 of clients")   # one line in the summary
        report.tried += 1; report.lost += missing_lines; report.check_text(stderr)
        ...
        report.assert_clean()                  # fails the test when anything was lost/failed

Each fault test keeps itself to seconds: a fixed number of runs, short commands, `timeout=` on
every wait.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from core.engine import Engine

TRACEBACK = re.compile(r"Traceback \(most recent call last\)|^\w+(Error|Exception): ", re.M)
_REPORTS: list["FaultReport"] = []


@dataclass
class FaultReport:
    """What one fault did: how many times it was tried, lines or runs lost, operations that failed,
    and tracebacks seen in any output the user would see."""

    name: str
    tried: int = 0
    lost: int = 0
    failed: int = 0
    tracebacks: int = 0
    notes: list[str] = field(default_factory=list)

    def check_text(self, text: str | bytes | None, where: str = "output") -> None:
        """Count a traceback in `text` (stderr of a command, a log) and note where it was."""
        if text is None:
            return
        if isinstance(text, bytes):
            text = text.decode(errors="replace")
        if TRACEBACK.search(text):
            self.tracebacks += 1
            self.notes.append(f"traceback in {where}: {text.strip().splitlines()[-1][:200]}")

    def line(self) -> str:
        return (f"fault {self.name}: tried {self.tried}, lost {self.lost}, failed {self.failed}, "
                f"tracebacks {self.tracebacks}")

    def assert_clean(self) -> None:
        assert self.tried > 0, f"{self.name}: nothing was tried"
        assert (self.lost, self.failed, self.tracebacks) == (0, 0, 0), self.line() + "\n" + "\n".join(self.notes)


@pytest.fixture
def fault() -> Iterator:
    """`fault(name) -> FaultReport`: reports land in the session's summary, pass or fail."""
    made: list[FaultReport] = []

    def make(name: str) -> FaultReport:
        report = FaultReport(name)
        made.append(report)
        return report

    yield make
    _REPORTS.extend(made)


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # noqa: ARG001
    if not _REPORTS:
        return
    terminalreporter.section("faults")
    lines = [r.line() + "".join(f"\n  note: {note}" for note in r.notes) for r in _REPORTS]
    for line in lines:
        terminalreporter.write_line(line)
    target = os.environ.get("VESSL_TUI_FAULTS_SUMMARY")
    if target:
        with open(target, "a") as fh:
            fh.write("".join(line + "\n" for line in lines))


@pytest.fixture
def engine(vessl_home: Path) -> Iterator[Engine]:
    """An engine on this test's home; every run still active at the end is stopped."""
    eng = Engine()
    yield eng
    for record in eng.list_runs(include_finished=False):
        try:
            eng.stop(record.id)
            eng.wait(record.id, timeout=20)
        except Exception:
            pass


@pytest.fixture
def tmpfs_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A VESSL_TUI_HOME on a 2 MB tmpfs of its own (root only: skipped with a reason otherwise)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    home = tmp_path / "small-home"
    home.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs", str(home)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    monkeypatch.setenv("VESSL_TUI_HOME", str(home))
    try:
        yield home
    finally:
        subprocess.run(["umount", "-l", str(home)], capture_output=True)
