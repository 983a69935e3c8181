"""kill -9 of supervisors while only the workstation (Pilot) is open: no CLI client runs, so the TUI
itself must reconcile — runs whose work lives are reattached and finish with every line; runs whose
work is gone too are shown `lost`."""

from __future__ import annotations

import os
import signal

from core.engine import Engine
from tests.engine.helpers import alive, spec, until
from tests.faults.test_clients import missing_lines
from tui.app import VesslApp

LIVE, DOOMED, LINES = 4, 2, 40


async def test_kill_9_of_supervisors_with_only_the_tui_open(engine: Engine, fault) -> None:
    report = fault("kill -9 of supervisors, only the TUI open")
    command = "for i in $(seq 1 {n}); do echo {name} $i; sleep 0.1; done"
    runs = {}
    for n in range(LIVE + DOOMED):
        name = f"s{n}"
        record = engine.submit_spec(spec(command.format(n=LINES, name=name), name=name))
        runs[record.id] = n < LIVE
    started = {rid: until(lambda rid=rid: (r := engine.get(rid)).status == "running" and r.handle and r,
                          what="the run to be running") for rid in runs}
    for rid, survives in runs.items():
        record = started[rid]
        if not survives:
            os.kill(record.handle["wrapper_pid"], signal.SIGKILL)  # no exit status will be written
        os.kill(record.supervisor_pid, signal.SIGKILL)
        if not survives:
            os.killpg(record.handle["pgid"], signal.SIGKILL)
    for record in started.values():
        until(lambda pid=record.supervisor_pid: not alive(pid), timeout=10, what="the supervisor to die")
    table_status = {}
    app = VesslApp()  # its own engine: the only client from here on
    async with app.run_test(size=(120, 30)) as pilot:
        for _ in range(600):  # 60 s at most
            table = app.screen.query_one("#runs-table")
            table_status = {rid: (cells.status if (cells := table.cells(rid)) else None) for rid in runs}
            if all(s in ("succeeded", "failed", "stopped", "lost") for s in table_status.values()):
                break
            await pilot.pause(0.1)
    for rid, survives in runs.items():
        report.tried += 1
        wanted = "succeeded" if survives else "lost"
        if table_status.get(rid) != wanted:
            report.failed += 1
            report.notes.append(f"{rid}: the TUI shows {table_status.get(rid)}, expected {wanted}")
        if survives:
            report.lost += missing_lines(engine.read_log(rid)[0].decode(), f"s{list(runs).index(rid)}", LINES)
    report.assert_clean()
