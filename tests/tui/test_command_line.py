"""The `:` command line: areas, acting on runs by name, opening logs, running a file, completion."""

from __future__ import annotations

from textual.widgets import Input

from tests.tui.conftest import local_spec, until
from tui.app import VesslApp
from tui.commands import complete_command, split
from tui.screens.command_line import CommandLine
from tui.screens.run_detail import RunDetailScreen


def _notes(app) -> list[str]:
    return [n.message for n in app._notifications]


async def _command(pilot, text: str) -> None:
    await pilot.press("colon")
    assert isinstance(pilot.app.screen, CommandLine)
    pilot.app.screen.query_one(Input).value = text
    await pilot.press("enter")


async def test_commands_switch_areas_run_files_stop_and_open_logs(engine, write_spec) -> None:
    spec = write_spec("long", local_spec("long-one", "echo started; sleep 60"))
    app = VesslApp(engine=engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await _command(pilot, ":gpus")
        await until(pilot, lambda: app.current_mode == "gpus")
        await _command(pilot, ":runs")
        await until(pilot, lambda: app.current_mode == "runs")
        await _command(pilot, f":run {spec}")
        await until(pilot, lambda: any(r.name == "long-one" for r in engine.list_runs()))
        await until(pilot, lambda: "long-one" in app.run_names.values())
        await pilot.press("colon", *"lo", "tab")  # the command, then the run's name, complete
        field = app.screen.query_one(Input)
        await until(pilot, lambda: field.value == "logs ")
        await pilot.press(*"long", "tab")
        await until(pilot, lambda: field.value == "logs long-one")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, RunDetailScreen))
        await pilot.press("escape")
        await _command(pilot, ":stop long-one")
        run = engine.wait("long-one", timeout=60)
        assert run.status == "stopped"
        await _command(pilot, ":stop long-one")
        await until(pilot, lambda: any("long-one is stopped: there is nothing to stop" in n for n in _notes(app)))
        await _command(pilot, ":frobnicate")
        await until(pilot, lambda: any("No command :frobnicate" in n for n in _notes(app)))
        await _command(pilot, ":q")
    assert app.return_code == 0


def test_completion_of_commands_and_runs() -> None:
    assert complete_command("re", []) == ("re", ["rerun", "revisions"])
    assert complete_command("rev", []) == ("revisions ", ["revisions"])
    assert complete_command("stop tr", ["train-a", "train-b", "eval"]) == ("stop train-", ["train-a", "train-b"])
    assert complete_command("stop ev", ["train-a", "eval"]) == ("stop eval ", ["eval"])
    assert complete_command("run sp", []) is None  # a file: completed from the folder
    assert split(":stop a b") == ("stop", ["a", "b"])


async def test_edit_opens_the_workstation_in_the_editor(engine, write_spec, tmp_path) -> None:
    from textual.widgets import TextArea

    from tui.screens.editor import EditorScreen
    from tui.screens.runs import RunsScreen

    path = write_spec("edited", local_spec("edited", "echo hi"))
    app = VesslApp(engine=engine, edit=str(path))
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, EditorScreen)
                    and app.screen.query_one(TextArea).text.startswith("name: edited"))
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, RunsScreen))
    new = tmp_path / "brand-new.yaml"
    app = VesslApp(engine=engine, edit=str(new))
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, EditorScreen) and app.screen.path == new)
        await pilot.pause(0.2)
        assert app.screen.query_one(TextArea).text == "" and not _notes(app)
        await pilot.press(*"name: x", "ctrl+s")
        await until(pilot, lambda: new.exists() and new.read_text() == "name: x")


def test_edit_command_line(monkeypatch, capsys) -> None:
    import sys

    import pytest

    import tui.app
    from tui import launch

    opened = []
    monkeypatch.setattr(tui.app, "run_app", lambda edit=None: opened.append(edit))
    monkeypatch.setattr(sys, "argv", ["vessl-tui", "edit", "train.yaml"])
    launch.main()
    assert opened == ["train.yaml"]
    monkeypatch.setattr(sys, "argv", ["vessl-tui", "edit"])
    with pytest.raises(SystemExit) as exit_info:
        launch.main()
    assert exit_info.value.code == 2 and "give one spec file" in capsys.readouterr().err
