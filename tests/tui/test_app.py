"""The App: areas, help overlay, command palette, keymap from the config, theme, worker errors."""

from __future__ import annotations

import re
from pathlib import Path

from textual.app import App
from textual.binding import Binding

from tests.conftest import REPO
from tests.tui.conftest import until
from tui.app import VesslApp
from tui.keycheck import binding_owners
from tui.screens.clusters import ClustersScreen
from tui.screens.help import HelpScreen
from tui.screens.runs import RunsScreen
from tui.widgets.key_bar import KeyBar

ALL_BINDING_OWNERS = binding_owners()


def _bindings(owner) -> list[Binding]:
    return [b for b in owner.BINDINGS if isinstance(b, Binding)]


def test_every_binding_has_an_id_and_is_in_screens_md() -> None:
    manual = (REPO / "screens.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"`([a-z_]+\.[a-z_.]+)`", manual))
    for owner in ALL_BINDING_OWNERS:
        for binding in _bindings(owner):
            assert binding.id, f"{owner.__name__}: {binding.key} has no id"
            assert binding.id in documented, f"{binding.id} ({owner.__name__}) is not in screens.md"


async def test_number_keys_switch_areas_and_ctrl_q_quits(engine) -> None:
    app = VesslApp(engine=engine)
    async with app.run_test(size=(80, 24)) as pilot:
        assert isinstance(app.screen, RunsScreen)
        for key, area in zip("2345", ["revisions", "clusters", "gpus", "tunnels"]):
            await pilot.press(key)
            assert app.current_mode == area
        await pilot.press("1")
        assert app.current_mode == "runs"
        await pilot.press("ctrl+q")
    assert app.return_code == 0


async def test_help_overlay_lists_the_current_screens_keys(engine) -> None:
    app = VesslApp(engine=engine)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        ids = {row[2] for row in app.screen.rows}
        assert {"runs.stop", "runs.filter", "app.help"} <= ids
        await pilot.press("escape")
        assert isinstance(app.screen, RunsScreen)


async def test_palette_offers_area_actions(engine) -> None:
    from tui.app import area_commands

    app = VesslApp(engine=engine)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        provider = area_commands()(app.screen)
        names = [name for name, _, _ in provider._commands()]
        assert "Runs: Stop the selected runs" in names
        assert "Clusters: Test the connection to the cluster" in names
        assert "Go: gpus" in names
        callback = dict((n, c) for n, c, _ in provider._commands())["Clusters: Reload clusters and presets"]
        await callback()
        await pilot.pause()
        assert isinstance(app.screen, ClustersScreen)


async def test_keymap_from_the_config_file(engine, config_file: Path) -> None:
    config_file.write_text("keys:\n  runs.stop: ctrl+k\n", encoding="utf-8")
    app = VesslApp(engine=engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        keys = {b.binding.id: key for key, b in app.screen.active_bindings.items()}
        assert keys["runs.stop"] == "ctrl+k"
        await until(pilot, lambda: "^k Stop" in app.screen.query_one(KeyBar).render().plain)


async def test_theme_toggles(engine) -> None:
    app = VesslApp(engine=engine)
    async with app.run_test(size=(80, 24)) as pilot:
        dark = app.current_theme.dark
        await pilot.press("ctrl+t")
        assert app.current_theme.dark is not dark


async def test_a_failing_worker_is_one_sentence_not_a_traceback(engine) -> None:
    app = VesslApp(engine=engine)
    async with app.run_test(size=(80, 24)) as pilot:
        app.screen.submit_file("/nonexistent/spec.yaml")
        await until(pilot, lambda: bool(app._notifications))
        note = list(app._notifications)[-1]
        assert note.severity == "error"
        assert "Traceback" not in note.message and "\n" not in note.message
        assert isinstance(app, App)
