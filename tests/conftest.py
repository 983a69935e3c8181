"""Shared fixtures: every test gets its own VESSL_TUI_HOME and VESSL_TUI_CONFIG on disk."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Supervisor servers that the tests start exit soon after the suite instead of idling ten minutes.
os.environ.setdefault("VESSL_TUI_SUPERVISOR_IDLE", "20")

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO.parent / "shared" / "corpus"


@pytest.fixture(autouse=True)
def vessl_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh home (store, logs, artifacts) and an empty config for each test."""
    home = tmp_path / "home"
    home.mkdir()
    config = tmp_path / "config.yaml"
    monkeypatch.setenv("VESSL_TUI_HOME", str(home))
    monkeypatch.setenv("VESSL_TUI_CONFIG", str(config))
    return home


@pytest.fixture
def config_file(vessl_home: Path, tmp_path: Path) -> Path:
    """The config file path of this test (not created until a test writes it)."""
    return tmp_path / "config.yaml"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """With VESSL_TUI_NO_SKIPS=1 (set by `.ci/run`, which installs every server and tool the tests
    start), a skipped test fails the run: CI proves each test ran against real parts."""
    if os.environ.get("VESSL_TUI_NO_SKIPS") != "1":
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped:
        reporter.ensure_newline()
        reporter.write_line(f"{len(skipped)} test(s) skipped where nothing may be skipped "
                            f"(VESSL_TUI_NO_SKIPS=1): {skipped[0].nodeid}: {skipped[0].longrepr}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
