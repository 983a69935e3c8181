"""Run-detail paths beyond the main one: the provisioning pane and saving the log; and the host-key
trust dialog of the clusters screen against a real OpenSSH server."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.fixtures.sshd import Sshd, sshd  # noqa: F401  (a real OpenSSH server, session scope)
from tests.tui.conftest import local_spec, until
from tui.app import VesslApp
from tui.screens.modals import ConfirmModal, PromptModal
from tui.screens.run_detail import RunDetailScreen
from tui.widgets.log_view import LogView


def _notes(app) -> list[str]:
    return [note.message for note in app._notifications]


async def test_provisioning_pane_and_saving_the_log(engine, write_spec, tmp_path: Path) -> None:
    run = engine.submit(str(write_spec("saved", local_spec("saved", "for i in $(seq 1 500); do echo line $i; done"))))
    engine.wait(run.id, timeout=60)
    app = VesslApp(engine=engine)
    async with app.run_test(size=(100, 30)) as pilot:
        app.push_screen(RunDetailScreen(run.id))
        await until(pilot, lambda: isinstance(app.screen, RunDetailScreen))
        screen = app.screen
        prov = screen.query_one("#prov-log", LogView)
        assert not prov.display
        await pilot.press("p")
        assert prov.display and prov.has_focus
        await until(pilot, lambda: prov.ended and prov.line_count > 0)
        shown = [prov.get_line(i) or "" for i in range(prov.line_count)]
        assert any("status succeeded" in line for line in shown)
        await pilot.press("p")
        assert not prov.display and screen.log_view.has_focus

        target = tmp_path / "saved.log"
        await pilot.press("ctrl+s")
        assert isinstance(app.screen, PromptModal)
        prompt = app.screen.query_one("Input")
        prompt.value = str(target)
        await pilot.press("enter")
        await until(pilot, lambda: any("Saved the log" in note for note in _notes(app)))
        assert target.read_text() == "".join(f"line {i}\n" for i in range(1, 501))


async def test_trusting_a_host_key_shows_the_fingerprint_and_writes_known_hosts(
    engine, config_file: Path, tmp_path: Path, sshd: Sshd  # noqa: F811
) -> None:
    known = tmp_path / "known_hosts"
    cluster = sshd.cluster(known_hosts=str(known))
    config_file.write_text(yaml.safe_dump({"clusters": {"box": cluster}}), encoding="utf-8")
    backend = engine.backend("box")
    state, key_type, fingerprint = backend.host_key_status()
    assert state == "unknown"
    app = VesslApp(engine=engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("3")
        table = app.screen.query_one("#clusters-table")
        await until(pilot, lambda: table.row_count >= 2)
        names = [table.get_row_at(i)[0] for i in range(table.row_count)]
        row = next(i for i, name in enumerate(names) if str(getattr(name, "plain", name)) == "box")
        table.move_cursor(row=row)
        await pilot.press("k")
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal))
        shown = " ".join(str(label.render()) for label in app.screen.query("Label, Static"))
        assert fingerprint in shown and key_type in shown
        await pilot.press("y")
        await until(pilot, lambda: any(note.startswith("Trusted box") for note in _notes(app)))
    assert engine.backend("box").host_key_status()[0] == "known"
    assert known.read_text().strip()
