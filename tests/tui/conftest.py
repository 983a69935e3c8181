"""TUI test helpers: a real engine on the test's own home, spec files, and a waiting helper."""

from __future__ import annotations

import asyncio
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

FIXED_NOW = 1_700_000_000.0


@pytest.fixture
def engine(vessl_home: Path):
    """A real engine over this test's store; stops what the test left running."""
    from core.engine import Engine

    eng = Engine()
    yield eng
    for run in eng.list_runs(include_finished=False):
        try:
            eng.stop(run.id)
            eng.wait(run.id, timeout=30)
        except Exception:  # noqa: BLE001 - cleanup is best effort
            pass


@pytest.fixture
def write_spec(tmp_path: Path) -> Callable[[str, str], Path]:
    """write_spec(name, yaml_text) -> path of a spec file in the test's folder."""

    def write(name: str, text: str) -> Path:
        path = tmp_path / f"{name}.yaml"
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
        return path

    return write


def local_spec(name: str, script: str, ports: str = "") -> str:
    """A VESSL run spec on the local cluster running `script` with bash."""
    body = textwrap.indent(textwrap.dedent(script).strip(), "      ")
    text = f"name: {name}\nresources:\n  cluster: local\nrun:\n  - command: |\n{body}\n"
    return text + (f"ports:\n{ports}" if ports else "")


async def until(pilot, condition: Callable[[], bool], timeout: float = 20.0, step: float = 0.1) -> None:
    """Let the app run until `condition()` holds (fails the test after `timeout` seconds)."""
    waited = 0.0
    while not condition():
        if waited > timeout:
            raise AssertionError("condition not reached in time")
        await pilot.pause(step)
        waited += step
    await asyncio.sleep(0)
