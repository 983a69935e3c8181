"""The key bar at the bottom of every screen: the keys active now, remapped ones as remapped."""

from __future__ import annotations

from tests.engine.helpers import spec
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
        # the runs screen's keys, compact, with the App's keys bare at the right end; what does not
        # fit is left out least used first (sort, then rerun), never stop, remove or filter
        assert text.startswith(" ⏎ Logs n New e Editor ␣ Select s Stop ")
        assert "d Remove / Filter" in text and "o Sort" not in text
        assert text.rstrip().endswith("? ^p")
        await pilot.press("3")
        await until(pilot, lambda: "t Test" in bar_text(app))


async def test_at_60_columns_the_least_used_keys_go_first(engine) -> None:
    from tui.screens.run_detail import RunDetailScreen

    run = engine.submit_spec(spec("sleep 30", name="narrow"))
    app = VesslApp(engine=engine, keymap={})
    async with app.run_test(size=(60, 20)) as pilot:
        await pilot.pause()
        text = bar_text(app)
        assert len(text) == 60 and text.rstrip().endswith("? ^p")
        for kept in ("⏎ Logs", "n New", "s Stop", "d Remove", "/ Filter"):
            assert kept in text
        assert "o Sort" not in text and "r Rerun" not in text
        app.push_screen(RunDetailScreen(run.id))
        await until(pilot, lambda: bool(app.screen.query(KeyBar)) and "x Shell" in bar_text(app))
        text = bar_text(app)
        for kept in ("esc Back", "/ Search", "s Stop", "x Shell"):
            assert kept in text
        assert "w Wrap" not in text  # wrap and next match give up their room first
        engine.stop(run.id)


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
