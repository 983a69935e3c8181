"""The spec editor: YAML highlighting, problems as you type, jump to a problem, submit."""

from __future__ import annotations

from textual.widgets import TextArea

from tests.tui.conftest import local_spec, until
from tui.app import VesslApp
from tui.screens.editor import EditorScreen
from tui.widgets.problems import ProblemsList

BROKEN = """name: broken
resources:
  cluster: local
run:
  - command: echo hi
ports:
  - 70000
"""


async def _editor(app: VesslApp, pilot, screen: EditorScreen) -> EditorScreen:
    app.push_screen(screen)
    await until(pilot, lambda: isinstance(app.screen, EditorScreen) and bool(screen.query("#plan")))
    return screen


async def test_yaml_is_syntax_highlighted() -> None:
    app = VesslApp(engine=object())
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _editor(app, pilot, EditorScreen(text="name: x\n"))
        area = screen.query_one(TextArea)
        assert area.language == "yaml"
        assert area.is_syntax_aware


async def test_problem_at_the_right_line_and_enter_jumps_there(engine, write_spec) -> None:
    path = write_spec("broken", BROKEN)
    app = VesslApp(engine=engine)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await _editor(app, pilot, EditorScreen(path))
        problems = screen.query_one(ProblemsList)
        await until(pilot, lambda: screen.kind is not None and bool(problems.problems))
        problem = problems.problems[0]
        assert (problem.line, problem.column) == (7, 5)
        assert "ports" in problem.path
        assert "7:5" in str(problems.get_option_at_index(0).prompt)
        await pilot.press("f4")
        assert problems.has_focus
        await pilot.press("enter")
        area = screen.query_one(TextArea)
        await until(pilot, lambda: area.has_focus)
        assert area.has_focus and area.cursor_location == (6, 4)


async def test_problems_follow_typing(engine) -> None:
    app = VesslApp(engine=engine)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await _editor(app, pilot, EditorScreen(text=local_spec("ok", "echo ok")))
        problems = screen.query_one(ProblemsList)
        await until(pilot, lambda: screen.kind is not None)
        assert problems.problems == []
        area = screen.query_one(TextArea)
        area.move_cursor((0, 0))
        await pilot.press(*"resouces: 1", "enter")
        await until(pilot, lambda: any(p.line == 1 for p in problems.problems))


async def test_submit_a_good_spec_runs_it(engine, write_spec) -> None:
    path = write_spec("good", local_spec("from-editor", "echo submitted from the editor"))
    app = VesslApp(engine=engine)
    async with app.run_test(size=(100, 30)) as pilot:
        await _editor(app, pilot, EditorScreen(path))
        await until(pilot, lambda: app.screen.query_one(TextArea).text.startswith("name: from-editor"))
        await pilot.press("ctrl+r")
        await until(pilot, lambda: any(r.name == "from-editor" for r in engine.list_runs(include_finished=True)))
        run = engine.wait("from-editor", timeout=60)
        assert run.status == "succeeded"
        data, _ = engine.read_log(run.id, 0)
        assert b"submitted from the editor" in data


async def test_dry_run_plan_and_field_help(engine, write_spec) -> None:
    path = write_spec("plan", local_spec("planned", "echo plan"))
    app = VesslApp(engine=engine)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _editor(app, pilot, EditorScreen(path))
        area = screen.query_one(TextArea)
        await until(pilot, lambda: screen.kind is not None)
        await pilot.press("ctrl+g")
        plan = screen.query_one("#plan")
        await until(pilot, lambda: not plan.has_class("hidden"))
        assert "planned" in str(plan.render()) and "local" in str(plan.render())
        area.move_cursor((2, 4))
        await pilot.pause()
        help_text = str(screen.query_one("#field-help").render())
        assert "resources.cluster" in help_text


async def test_a_key_given_twice_is_a_problem_at_the_second(engine) -> None:
    app = VesslApp(engine=engine)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await _editor(app, pilot, EditorScreen(text=local_spec("one", "echo one") + "name: two\n"))
        problems = screen.query_one(ProblemsList)
        await until(pilot, lambda: bool(problems.problems))
        problem = problems.problems[0]
        assert (problem.line, problem.column) == (7, 1) and "`name` is given twice" in problem.message
