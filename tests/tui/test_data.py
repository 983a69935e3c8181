"""The Data area lists the registry's versions a run stored, and removes one after a confirm."""

from __future__ import annotations

from tests.tui.conftest import until
from tui.app import VesslApp
from tui.screens.data import DataScreen


async def test_data_area_lists_a_model_a_run_exported_and_removes_it(engine, write_spec) -> None:
    spec = write_spec("train", """
        name: train
        resources: {cluster: local}
        export:
          /out: vessl-model://me/mnist
        run:
          - command: mkdir -p out && echo w > out/model.bin
    """)
    run = engine.wait(engine.submit(str(spec)).id, timeout=60)
    assert run.status == "succeeded"
    app = VesslApp(engine=engine)
    async with app.run_test(size=(100, 24)) as pilot:
        await pilot.press("colon", *":data"[1:], "enter")
        await until(pilot, lambda: isinstance(app.screen, DataScreen) and app.screen.query_one("#data-table").row_count == 1)
        row = [str(c) for c in app.screen.query_one("#data-table").get_row_at(0)]
        assert row[:5] == ["model", "vessl-model://me/mnist/1", "2B", "1", run.id]
        assert "1 models" in app.screen.query_one("#area-bar").summary
        await pilot.press("d")
        await pilot.pause()
        await pilot.press("y")
        await until(pilot, lambda: app.screen.query_one("#data-table").row_count == 0)
    assert engine.registry_entries() == []
