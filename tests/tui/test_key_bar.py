"""The key bar at the bottom of every screen: the keys active now, remapped ones as remapped."""

from __future__ import annotations

from tests.tui.conftest import until
from tui.app import VesslApp
from tui.screens.editor import EditorScreen
from tui.screens.runs import RunsScreen
from tui.widgets.key_bar import KeyBar


def bar_text(app: VesslApp) -> str:
    bar = app.screen.query_one(KeyBar)
    return bar.render().plain


async def test_the_bar_fits_80_columns_with_the_screens_keys_first_and_help_at_the_end(engine) -> None:
    app = VesslApp(engine=engine, keymap={})
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        text = bar_text(app)
        assert len(text) == 80
        # every key of the runs screen, compact, with the App's keys bare at the right end
        assert text.startswith(" ⏎ Logs n New e Editor ␣ Select s Stop r Rerun d Remove / Filter o Sort")
        assert text.rstrip().endswith("? ^p")
        await pilot.press("3")
        await until(pilot, lambda: "t Test" in bar_text(app))


async def test_a_wide_terminal_shows_the_padded_bar_with_descriptions(engine) -> None:
    app = VesslApp(engine=engine, keymap={})
    async with app.run_test(size=(130, 24)) as pilot:
        await pilot.pause()
        text = bar_text(app)
        assert text.startswith(" ⏎ Logs  n New  e Editor  space Select")
        assert text.rstrip().endswith("? Help  ^p palette")


async def test_remapped_keys_are_shown_as_remapped_in_their_place(engine) -> None:
    app = VesslApp(engine=engine, keymap={"runs.new": "ctrl+k"})
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: bar_text(app).startswith(" ⏎ Logs ^k New e Editor"))


async def test_the_bar_follows_the_focus(engine) -> None:
    app = VesslApp(engine=engine, keymap={})
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert "s Stop" in bar_text(app)
        await pilot.press("slash")  # the filter box takes the focus: letters type, they are no keys
        await until(pilot, lambda: "s Stop" not in bar_text(app))
        await pilot.press("escape")
        await until(pilot, lambda: "s Stop" in bar_text(app))


async def test_a_click_on_a_key_presses_it(engine) -> None:
    app = VesslApp(engine=engine, keymap={})
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, RunsScreen)
        column = bar_text(app).index("Editor")
        await pilot.click(KeyBar, offset=(column, 0))
        await until(pilot, lambda: isinstance(app.screen, EditorScreen))
