"""Nothing the user typed or owns is lost or written as a side effect: the dry run plans the
buffer without saving it, the log is saved where asked (folders made only after a yes), and path
prompts complete with Tab."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input, TextArea

from tests.tui.conftest import local_spec, until
from tui.app import VesslApp
from tui.screens.editor import EditorScreen
from tui.screens.modals import ConfirmModal, PromptModal
from tui.screens.run_detail import RunDetailScreen
from tui.widgets.path_input import complete_path


async def test_dry_run_plans_the_buffer_and_never_writes_the_file(engine, write_spec) -> None:
    path = write_spec("plan", local_spec("on-disk", "echo plan"))
    before = path.read_text()
    app = VesslApp(engine=engine)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = EditorScreen(path)
        app.push_screen(screen)
        await until(pilot, lambda: screen.is_mounted and screen.kind is not None)
        area = screen.query_one(TextArea)
        area.text = area.text.replace("on-disk", "in-the-buffer")
        await pilot.press("ctrl+g")
        plan = screen.query_one("#plan")
        await until(pilot, lambda: not plan.has_class("hidden"))
        assert "in-the-buffer" in str(plan.render())
        assert "●" in str(area.border_title)  # still unsaved
    assert path.read_text() == before


async def test_log_save_defaults_to_the_runs_artifacts_folder(engine, write_spec, vessl_home) -> None:
    run = engine.submit(write_spec("saved", local_spec("saved", "echo line-to-keep")))
    engine.wait(run.id, timeout=60)
    app = VesslApp(engine=engine)
    async with app.run_test(size=(80, 24)) as pilot:
        app.push_screen(RunDetailScreen(run.id))
        await until(pilot, lambda: isinstance(app.screen, RunDetailScreen) and app.screen.run is not None)
        await pilot.press("ctrl+s")
        assert isinstance(app.screen, PromptModal)
        target = Path(vessl_home) / "artifacts" / run.id / "saved.log"
        assert app.screen.query_one(Input).value == str(target)
        await pilot.press("enter")
        await until(pilot, lambda: target.exists() and b"line-to-keep" in target.read_bytes())


async def test_log_save_asks_before_making_a_folder(engine, write_spec, tmp_path) -> None:
    run = engine.submit(write_spec("asked", local_spec("asked", "echo x")))
    engine.wait(run.id, timeout=60)
    app = VesslApp(engine=engine)
    missing = tmp_path / "not" / "there"
    async with app.run_test(size=(80, 24)) as pilot:
        app.push_screen(RunDetailScreen(run.id))
        await until(pilot, lambda: isinstance(app.screen, RunDetailScreen) and app.screen.run is not None)
        for answer in ("n", "y"):
            await pilot.press("ctrl+s")
            app.screen.query_one(Input).value = str(missing / "x.log")
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, ConfirmModal))
            assert str(missing) in app.screen.question
            await pilot.press(answer)
            if answer == "n":
                await pilot.pause(0.3)
                assert not missing.parent.exists()
        await until(pilot, lambda: (missing / "x.log").exists())
        await pilot.press("ctrl+s")  # the file exists now: replacing it is asked too
        app.screen.query_one(Input).value = str(missing / "x.log")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal) and "Replace" in app.screen.question)


def test_complete_path(tmp_path: Path) -> None:
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "train.yaml").write_text("")
    (tmp_path / "specs" / "train-big.yaml").write_text("")
    (tmp_path / "specs" / ".hidden").write_text("")
    assert complete_path(f"{tmp_path}/sp") == (f"{tmp_path}/specs/", [])
    assert complete_path(f"{tmp_path}/specs/t") == (f"{tmp_path}/specs/train", ["train-big.yaml", "train.yaml"])
    assert complete_path(f"{tmp_path}/specs/train.") == (f"{tmp_path}/specs/train.yaml", [])
    assert complete_path(f"{tmp_path}/nothing/x") == (f"{tmp_path}/nothing/x", [])


async def test_tab_completes_in_a_path_prompt(tmp_path: Path) -> None:
    (tmp_path / "only-one.yaml").write_text("")
    app = VesslApp(engine=object())
    async with app.run_test(size=(80, 24)) as pilot:
        app.push_screen(PromptModal("Open", value=f"{tmp_path}/on", paths=True))
        await pilot.pause()
        field = app.screen.query_one(Input)
        await pilot.press("tab")
        await until(pilot, lambda: field.value == f"{tmp_path}/only-one.yaml")
        assert field.has_focus
