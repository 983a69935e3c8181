"""The runs and run-detail screens against a real store with real local runs."""

from __future__ import annotations

from tests.tui.conftest import local_spec, until
from tui.app import VesslApp
from tui.screens.modals import ConfirmModal
from tui.screens.run_detail import RunDetailScreen
from tui.widgets.log_view import LogView


def _cell(app, run_id: str, column: str) -> str | None:
    """The text shown in the run's row under `column` (None while the run has no row)."""
    cells = app.screen.query_one("#runs-table").cells(run_id)
    return None if cells is None else getattr(cells, column)


def _row_line(app, run_id: str) -> str:
    """The row of `run_id` as the terminal shows it."""
    table = app.screen.query_one("#runs-table")
    return table.render_line(table.ids.index(run_id) - table.scroll_offset.y + 1).text


async def test_runs_appear_and_change_status_live(engine, write_spec) -> None:
    gate = write_spec("gate", "")  # the run waits until this file is removed
    spec = write_spec("live", local_spec("live", f"while [ -e {gate} ]; do sleep 0.05; done; echo done"))
    app = VesslApp(engine=engine)
    async with app.run_test(size=(100, 30)) as pilot:
        run = engine.submit(str(spec))
        await until(pilot, lambda: _cell(app, run.id, "status") == "running")
        assert _cell(app, run.id, "name") == "live"
        assert "live" in _row_line(app, run.id) and "running" in _row_line(app, run.id)
        gate.unlink()
        await until(pilot, lambda: _cell(app, run.id, "status") == "succeeded")
        assert _cell(app, run.id, "exit") == "0"
        assert "succeeded" in _row_line(app, run.id)


async def test_enter_opens_the_log_and_follow_shows_new_lines(engine, write_spec) -> None:
    gate = write_spec("gate", "")
    script = f"""
        for i in $(seq 1 300); do echo "step $i loss 0.$i"; done
        while [ -e {gate} ]; do sleep 0.05; done
        echo "the very last line"
    """
    run = engine.submit(str(write_spec("follow", local_spec("follow", script))))
    app = VesslApp(engine=engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: _cell(app, run.id, "name") == "follow")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, RunDetailScreen))
        log = app.screen.query_one("#log", LogView)
        await until(pilot, lambda: log.line_count >= 300)
        assert log.follow
        await until(pilot, lambda: log.scroll_offset.y == log.max_scroll_y > 0)
        gate.unlink()
        await until(pilot, lambda: log.line_count == 301)
        assert log.get_line(300) == "the very last line"
        await until(pilot, lambda: log.scroll_offset.y == log.max_scroll_y)  # followed to the new line
        assert "the very last line" in log.render_line(log.size.height - 1).text
        await until(pilot, lambda: "ended" in str(log.border_title))
        await pilot.press("f")
        assert not log.follow and "paused" in str(log.border_title)
        await pilot.press("escape")
        assert type(app.screen).__name__ == "RunsScreen"


async def test_search_finds_highlights_and_jumps(engine, write_spec) -> None:
    script = """
        for i in $(seq 1 2000); do
          if [ $((i % 500)) -eq 0 ]; then echo "step $i loss NaN"; else echo "step $i loss 1.0"; fi
        done
    """
    run = engine.submit(str(write_spec("search", local_spec("search", script))))
    engine.wait(run.id, timeout=60)
    app = VesslApp(engine=engine)
    async with app.run_test(size=(80, 24)) as pilot:
        app.push_screen(RunDetailScreen(run.id))
        await until(pilot, lambda: isinstance(app.screen, RunDetailScreen))
        log = app.screen.query_one("#log", LogView)
        await until(pilot, lambda: log.line_count == 2000)
        await pilot.press("slash", *"nan", "enter")
        await until(pilot, lambda: log.match_position[1] == 4)
        assert list(log.matches) == [499, 999, 1499, 1999]
        assert "/nan 1/4" in str(log.border_title)
        top = log.scroll_offset.y
        assert top < 499 < top + log.size.height  # the match is in view with lines around it
        await pilot.press("n")
        assert log.match_position == (2, 4)
        await until(pilot, lambda: log.get_line(999) is not None)
        await pilot.pause()
        row = 999 - log.scroll_offset.y
        strip = log.render_line(row)
        match_style = log.get_component_rich_style("log-view--current-match")
        assert "step 1000 loss NaN" in strip.text
        assert any(seg.text.lower() == "nan" and seg.style == match_style for seg in strip)
        await pilot.press("N", "N")
        assert log.match_position == (4, 4)


async def test_bulk_stop_with_confirm(engine, write_spec) -> None:
    runs = [engine.submit(str(write_spec(f"sleepy{i}", local_spec(f"sleepy{i}", "sleep 300")))) for i in range(2)]
    app = VesslApp(engine=engine)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: all(_cell(app, r.id, "status") == "running" for r in runs))
        await pilot.press("space", "space")
        assert app.screen.selected == {r.id for r in runs}
        await pilot.press("s")
        assert isinstance(app.screen, ConfirmModal)
        await pilot.press("y")
        await until(pilot, lambda: all(_cell(app, r.id, "status") == "stopped" for r in runs), timeout=40)
        assert not app.screen.selected


async def test_a_large_store_shows_the_newest_page_first_then_every_run(engine) -> None:
    from tui.screens.runs import FIRST_PAGE

    total = FIRST_PAGE + 50
    rows = [(f"bulk{i:06d}", f"job-{i}", "succeeded", "local", 0, 1000.0 + i, 1000.0 + i, 1001.0 + i) for i in range(total)]
    with engine.store.conn:
        engine.store.conn.executemany(
            "INSERT INTO runs (id, name, status, cluster, exit_code, created_at, started_at, ended_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    reads, overlapping, under_way = [], [], [0]
    list_runs = engine.list_runs

    def recorded(*args, **kwargs):
        under_way[0] += 1
        overlapping.append(under_way[0] > 1)
        reads.append(kwargs.get("limit"))
        try:
            return list_runs(*args, **kwargs)
        finally:
            under_way[0] -= 1

    engine.list_runs = recorded
    app = VesslApp(engine=engine)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.screen.query_one("#runs-table").row_count == total)
        assert reads[:2] == [FIRST_PAGE, None]
        assert not any(overlapping)
        assert app.screen.query_one("#runs-table").cursor_id == f"bulk{total - 1:06d}"  # the newest
        assert f"{total}/{total} runs" in app.screen.query_one("#area-bar").summary


async def test_search_counts_and_moves_through_lines_that_arrive_later(engine, write_spec) -> None:
    gate = write_spec("gate", "")
    script = f"""
        for i in $(seq 1 29); do echo "match $i"; echo "other $i"; done
        while [ -e {gate} ]; do sleep 0.05; done
        for i in $(seq 30 100); do echo "match $i"; echo "other $i"; done
        sleep 60
    """
    run = engine.submit(str(write_spec("flood", local_spec("flood", script))))
    app = VesslApp(engine=engine)
    async with app.run_test(size=(80, 24)) as pilot:
        app.push_screen(RunDetailScreen(run.id))
        await until(pilot, lambda: isinstance(app.screen, RunDetailScreen))
        log = app.screen.query_one("#log", LogView)
        await until(pilot, lambda: log.line_count >= 58)
        await pilot.press("slash", *"MATCH", "enter")
        await until(pilot, lambda: log.match_position[1] == 29)
        gate.unlink()
        await until(pilot, lambda: log.match_position[1] == 100)
        assert "/MATCH" in str(log.border_title) and "/100" in str(log.border_title)
        assert list(log.matches) == [2 * i for i in range(100)]
        await pilot.press("N")  # from the first match back to the last one, which came later
        assert log.match_position == (100, 100)
        line = log.matches[log.match_position[0] - 1]
        assert log.get_line(line) in (None, "match 100")


async def test_local_run_shows_cpu_and_memory_then_clears_at_the_end(engine, write_spec) -> None:
    gate = write_spec("gate", "")
    script = f"""
        while [ -e {gate} ]; do :; done
    """  # a busy loop: about one core
    run = engine.submit(str(write_spec("busy", local_spec("busy", script))))
    app = VesslApp(engine=engine)
    async with app.run_test(size=(80, 24)) as pilot:
        app.push_screen(RunDetailScreen(run.id))
        await until(pilot, lambda: isinstance(app.screen, RunDetailScreen))
        metrics = app.screen.query_one("#detail-metrics")
        import re

        await until(pilot, lambda: re.search(r"cpu (\d+)%  mem \d", str(metrics.render())) is not None)
        percent = int(re.search(r"cpu (\d+)%", str(metrics.render())).group(1))
        assert percent > 10  # a busy loop is measured as busy (the machine is shared: not a full core)
        gate.unlink()
        engine.wait(run.id, timeout=60)
        await until(pilot, lambda: str(metrics.render()).strip() == "")
