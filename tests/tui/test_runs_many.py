"""Telling runs apart and acting on many: the ID and VARIANT columns, the line about the cursor's
run, select the filtered rows, refusals for actions that cannot apply, the empty first screen."""

from __future__ import annotations

from tests.tui.conftest import local_spec, until
from tui.app import VesslApp
from tui.screens.modals import ConfirmModal
from tui.widgets.runs_cells import fit_widths, middle_cut, variants


def _sweep(write_spec, name: str, lr: str):
    text = local_spec(name, "sleep 60") + f"env:\n  LR: \"{lr}\"\n"
    return write_spec(f"{name}-{lr}", text)


def _notes(app) -> list[str]:
    return [n.message for n in app._notifications]


async def test_sweep_runs_told_apart_filtered_selected_and_stopped_together(engine, write_spec) -> None:
    done = engine.submit(str(write_spec("other", local_spec("other", "echo done"))))
    engine.wait(done.id, timeout=60)
    a = engine.submit(str(_sweep(write_spec, "sweep", "0.1")))
    b = engine.submit(str(_sweep(write_spec, "sweep", "0.01")))
    app = VesslApp(engine=engine)
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.screen.query_one("#runs-table")
        await until(pilot, lambda: table.row_count == 3 and table.variants.get(a.id))
        assert table.cells(a.id).variant == "LR=0.1" and table.cells(b.id).variant == "LR=0.01"
        assert table.cells(a.id).id == a.id[:8]
        header = table.render_line(0).text
        assert "STATUS" in header and "AGE" in header and "ID" in header  # all on 80 columns

        await pilot.press("slash", *"sweep", "enter")
        box = app.screen.query_one("#runs-filter")
        assert not box.display and table.row_count == 2  # the box goes, the filter stays
        await pilot.press("slash")
        assert box.display and box.value == "sweep"
        await pilot.press("escape")
        assert not box.display and table.row_count == 2
        await pilot.press("ctrl+a")
        assert table.selected == {a.id, b.id}
        await pilot.press("s")
        assert isinstance(app.screen, ConfirmModal) and app.screen.question == "Stop 2 runs?"
        await pilot.press("y")
        for run in (a, b):
            assert engine.wait(run.id, timeout=60).status == "stopped"
        await until(pilot, lambda: table.runs[a.id].status == "stopped")
        table.cursor_row = table.ids.index(a.id)
        line = app.screen.query_one("#runs-line")
        await until(pilot, lambda: "exit 143 stopped by request" in str(line.render()))

        await pilot.press("escape")  # the filter goes; the finished run cannot be stopped
        await until(pilot, lambda: table.row_count == 3)
        table.cursor_row = table.ids.index(done.id)
        await pilot.press("s")
        assert not isinstance(app.screen, ConfirmModal)
        assert any("other is succeeded: there is nothing to stop" in n for n in _notes(app))


async def test_the_empty_first_screen_says_how_to_start(engine) -> None:
    app = VesslApp(engine=engine)
    async with app.run_test(size=(80, 24)) as pilot:
        empty = app.screen.query_one("#runs-empty")
        await until(pilot, lambda: empty.display)
        text = str(empty.render())
        assert "n  run a spec file" in text and "e  open the spec editor" in text and "?" in text


def test_middle_cut_keeps_both_ends() -> None:
    assert middle_cut("finetune-llama-sweep-07", 12) == "finetu…ep-07"
    assert middle_cut("short", 12) == "short"


def test_columns_give_up_room_least_needed_first() -> None:
    natural = {"sel": 1, "id": 8, "name": 40, "status": 12, "variant": 20, "cluster": 10, "gpus": 6, "age": 4,
               "dur": 4, "exit": 22}
    widths = fit_widths(natural, 78)
    assert sum(widths.values()) + len(widths) - 1 <= 78
    assert widths["status"] == 12 and widths["age"] == 4 and widths["id"] == 8
    assert widths["name"] >= 12


def test_variants_tags_first_then_differing_env() -> None:
    from core.engine import RunRecord

    runs = [RunRecord(id="1", name="s", status="running", cluster="local", tags=["a"]),
            RunRecord(id="2", name="s", status="running", cluster="local"),
            RunRecord(id="3", name="s", status="running", cluster="local"),
            RunRecord(id="4", name="alone", status="running", cluster="local")]
    envs = {"2": {"LR": "0.1", "BS": "8", "$cmd": "train"}, "3": {"LR": "0.2", "BS": "8", "$cmd": "train"}}
    assert variants(runs, envs) == {"1": "a", "2": "LR=0.1", "3": "LR=0.2"}


async def test_the_info_panes_history_scrolls_at_80x24() -> None:
    from core.engine import Event
    from tests.tui.test_snapshots import FIXED_NOW, FixedEngine
    from tui.screens.run_detail import RunDetailScreen

    class ManyEvents(FixedEngine):
        def events(self, run_id: str) -> list:
            return [Event(run_id, FIXED_NOW, "note", message=f"event {i}") for i in range(60)]

    app = VesslApp(engine=ManyEvents(), clock=lambda: FIXED_NOW, keymap={})
    async with app.run_test(size=(80, 24)) as pilot:
        app.push_screen(RunDetailScreen("c3d4e5f6a7"))
        await until(pilot, lambda: isinstance(app.screen, RunDetailScreen) and app.screen.run is not None)
        await pilot.press("i")
        info = app.screen.query_one("#detail-info")
        await until(pilot, lambda: info.max_scroll_y > 0)
        assert info.has_focus and "event 59" in str(app.screen.query_one("#detail-info-text").render())
        await pilot.press("down", "down")
        assert info.scroll_y > 0
        await pilot.press("i")
        assert not info.display and app.screen.log_view.has_focus


async def test_help_lists_every_key_of_an_action_and_ended_runs_refuse_stop_and_tunnels(engine, write_spec) -> None:
    from tui.screens.help import HelpScreen
    from tui.screens.run_detail import RunDetailScreen

    run = engine.submit(str(write_spec("ported", local_spec("ported", "echo done", ports="  - 8080\n"))))
    engine.wait(run.id, timeout=60)
    app = VesslApp(engine=engine)
    async with app.run_test(size=(100, 40)) as pilot:
        app.push_screen(RunDetailScreen(run.id))
        await until(pilot, lambda: isinstance(app.screen, RunDetailScreen) and app.screen.run is not None)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        rows = {binding_id: key for key, _, binding_id in app.screen.rows}
        assert set(rows["log.top"].split(", ")) == {"home", "g"} and set(rows["log.bottom"].split(", ")) == {"end", "G"}
        await pilot.press("escape")
        await pilot.press("t")
        await until(pilot, lambda: any("there is nothing to open a tunnel to" in n for n in _notes(app)))
        assert app.tunnels.list(run.id) == []
        await pilot.press("s")
        assert not isinstance(app.screen, ConfirmModal)
        await until(pilot, lambda: any("ported is succeeded: there is nothing to stop" in n for n in _notes(app)))
        await pilot.press("r")
        assert isinstance(app.screen, ConfirmModal) and app.screen.question == "Rerun ported?"
        await pilot.press("n")
