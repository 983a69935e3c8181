"""The Revisions screen: what the user sees and every action key, against a real store."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text

from core.serve.actions import ServeActions
from tests.serve.conftest import vessl_revision_yaml
from tests.serve.test_replicas import stop_everything  # noqa: F401  (keepers the screen started end with the test)
from tests.tui.conftest import until
from tui.app import VesslApp
from tui.screens.modals import ConfirmModal, PromptModal
from tui.screens.revisions import RevisionsScreen
from tui.screens.spec_modal import EditSpecModal


def service_file(tmp_path: Path, message: str = "smoke") -> str:
    """A VESSL Serve revision running the test replica on the local cluster."""
    path = tmp_path / "echo.yaml"
    path.write_text(vessl_revision_yaml(message, "  autoscaling:\n    min: 1\n    max: 2\n    metric: requests\n"
                                                 "    target: 50\n"))
    return str(path)


def cell(screen: RevisionsScreen, row: str, column: str, table: str = "#revisions-table") -> str:
    value = screen.query_one(table).get_cell(row, column)
    return value.plain if isinstance(value, Text) else str(value)


async def open_revisions(pilot) -> RevisionsScreen:
    await pilot.press("2")
    await until(pilot, lambda: isinstance(pilot.app.screen, RevisionsScreen) and pilot.app.screen.snapshot)
    return pilot.app.screen


async def test_rows_scale_prompt_and_delete_confirm(tmp_path: Path) -> None:
    actions = ServeActions()
    actions.create(service_file(tmp_path))
    actions.reproduce("echo:1")
    actions.store.update_revision("echo", 2, status="running", desired=1)
    app = VesslApp()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_revisions(pilot)
        await until(pilot, lambda: screen.revisions_table.row_count == 2)
        assert cell(screen, "echo:2", "status") == "running"
        assert cell(screen, "echo:1", "status") == "created"
        assert cell(screen, "echo:1", "autoscale") == "rps 50"
        assert "Service echo" in str(screen.revisions_table.border_title)

        await pilot.press("c")  # scale: a prompt; out of range is one sentence
        assert isinstance(app.screen, PromptModal)
        await pilot.press("backspace", "5", "enter")
        await until(pilot, lambda: any("1..2 replicas" in n.message for n in app._notifications))

        await pilot.press("d")  # running: confirm first; n keeps it
        assert isinstance(app.screen, ConfirmModal)
        await pilot.press("n")  # kept, still active (its keeper, started by the screen, may be scaling it)
        assert actions.store.revision("echo", 2).active
        await pilot.press("d", "y")
        await until(pilot, lambda: screen.revisions_table.row_count == 1)
        await pilot.press("d")  # not running: deleted at once
        await until(pilot, lambda: screen.revisions_table.row_count == 0)
    assert actions.store.revisions() == []


async def reproduce_dialog(pilot) -> tuple[RevisionsScreen, EditSpecModal]:
    """The Revisions screen with its one revision, and `p`'s dialog open on it."""
    screen = await open_revisions(pilot)
    await until(pilot, lambda: screen.revisions_table.row_count == 1)
    await pilot.press("p")
    assert isinstance(pilot.app.screen, EditSpecModal)
    return screen, pilot.app.screen


async def test_reproduce_edits_before_saving(tmp_path: Path) -> None:
    actions = ServeActions()
    actions.create(service_file(tmp_path, "smoke"))
    app = VesslApp()
    async with app.run_test(size=(100, 30)) as pilot:
        screen, modal = await reproduce_dialog(pilot)
        area = modal.query_one("#reproduce-text")
        area.text = area.text.replace("message: smoke", "message: bigger batch")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: screen.revisions_table.row_count == 2)
        assert cell(screen, "echo:2", "message") == "bigger batch"
    assert actions.store.revision("echo", 1).message == "smoke"  # revisions are immutable


async def test_start_shows_replicas_and_logs(tmp_path: Path) -> None:
    actions = ServeActions()
    actions.create(service_file(tmp_path))
    app = VesslApp()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_revisions(pilot)
        await until(pilot, lambda: screen.revisions_table.row_count == 1)
        await pilot.press("s")
        await until(pilot, lambda: cell(screen, "echo:1", "status") == "running", timeout=60)
        assert cell(screen, "echo:1", "replicas") == "1/1 of 1..2"
        await until(pilot, lambda: "endpoint http://127.0.0.1:" in str(screen.revisions_table.border_title))
        plane = actions.store.service("echo").dataplane
        assert plane in ("haproxy", "aiohttp") and f"({plane})" in str(screen.revisions_table.border_title)
        assert cell(screen, "0", "status", "#replicas-table") == "ready"
        await pilot.press("l")
        from tui.screens.run_detail import RunDetailScreen

        await until(pilot, lambda: isinstance(app.screen, RunDetailScreen))
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is screen)
        await pilot.press("t")
        await until(pilot, lambda: cell(screen, "echo:1", "status") == "stopped", timeout=30)
        await until(pilot, lambda: "no endpoint" in str(screen.revisions_table.border_title), timeout=30)


async def test_reproduce_with_problems_keeps_the_edits_and_points_at_their_lines(tmp_path: Path) -> None:
    actions = ServeActions()
    actions.create(service_file(tmp_path, "smoke"))
    app = VesslApp()
    async with app.run_test(size=(100, 30)) as pilot:
        screen, modal = await reproduce_dialog(pilot)
        area = modal.query_one("#reproduce-text")
        edited = "# three lines\n# added above\n# the spec\n" + area.text.replace("message: smoke", "message: [broken")
        area.text = edited
        await pilot.press("ctrl+s")
        problems = modal.query_one("#reproduce-problems")
        await until(pilot, lambda: not problems.has_class("hidden"))
        assert app.screen is modal and area.text == edited  # still open, nothing lost
        broken_line = edited.splitlines().index(next(x for x in edited.splitlines() if "[broken" in x)) + 1
        assert problems.problems and problems.problems[0].line >= broken_line  # the edited text's lines
        await pilot.press("f4", "enter")
        assert area.has_focus and area.cursor_location[0] == problems.problems[0].line - 1
        area.text = edited.replace("message: [broken", "message: fixed")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: screen.revisions_table.row_count == 2)
        assert app.screen is screen and cell(screen, "echo:2", "message") == "fixed"


async def test_n_creates_a_revision_from_a_file_and_the_editor_offers_create_revision(tmp_path: Path) -> None:
    from textual.widgets import Input, TextArea

    from tui.screens.editor import EditorScreen
    from tui.screens.modals import ChoiceModal

    path = service_file(tmp_path, "from the keyboard")
    app = VesslApp()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_revisions(pilot)
        await pilot.press("n")
        assert isinstance(app.screen, PromptModal)
        app.screen.query_one(Input).value = path
        await pilot.press("enter")
        await until(pilot, lambda: screen.revisions_table.row_count == 1)
        assert cell(screen, "echo:1", "message") == "from the keyboard"

        editor = EditorScreen(path)
        app.push_screen(editor)
        await until(pilot, lambda: editor.kind == "vessl-revision")
        area = editor.query_one(TextArea)
        area.text = area.text.replace("message: from the keyboard", "message: from the editor")
        await pilot.press("ctrl+r")
        assert isinstance(app.screen, ChoiceModal)
        await pilot.press("enter")  # the first choice: create a revision
        await until(pilot, lambda: len(ServeActions().store.revisions()) == 2)
        assert ServeActions().store.revision("echo", 2).message == "from the editor"
        assert ServeActions().store.revision("echo", 2).status == "created"  # not started, not a plain run
        table = screen.revisions_table
        await pilot.press("escape")  # leave the editor (its text was saved by ctrl+r)
        await until(pilot, lambda: app.screen is screen and table.row_count == 2)
        table.focus()
        await pilot.press("end")
        assert table.cursor_row == 1
        await pilot.press("home")
        assert table.cursor_row == 0
        await pilot.press("enter")  # revisions.replicas: to the replicas table and back
        assert screen.replicas_table.has_focus
        await pilot.press("enter")
        assert table.has_focus
