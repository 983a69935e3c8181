"""A tunnel opens from the run detail for a run with a port, and the Tunnels area lists it."""

from __future__ import annotations

import urllib.request

from tests.support import free_port
from tests.tui.conftest import until
from tui.app import VesslApp
from tui.screens.run_detail import RunDetailScreen
from tui.screens.tunnels import TunnelsScreen



async def test_tunnel_opens_for_a_run_with_a_port(engine, write_spec, tmp_path) -> None:
    port = free_port()
    (tmp_path / "index.html").write_text("hello through the tunnel")
    spec = write_spec("web", f"""
        name: web
        resources:
          cluster: local
        run:
          - command: cd {tmp_path} && exec python3 -m http.server {port} --bind 127.0.0.1
        ports:
          - name: http
            type: http
            port: {port}
    """)
    run = engine.submit(str(spec))
    app = VesslApp(engine=engine)
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: engine.get(run.id).status == "running")
        app.push_screen(RunDetailScreen(run.id))
        await until(pilot, lambda: isinstance(app.screen, RunDetailScreen) and app.screen.run is not None)
        await pilot.press("t")
        await until(pilot, lambda: any(t.is_open for t in app.tunnels.list(run.id)))
        tunnel = app.tunnels.list(run.id)[0]
        await until(pilot, lambda: f"(open)" in str(app.screen.query_one("#detail-header").render()))
        body = ""
        for _ in range(50):
            try:
                body = urllib.request.urlopen(tunnel.url + "/index.html", timeout=2).read().decode()
                break
            except OSError:
                await pilot.pause(0.2)
        assert body == "hello through the tunnel"
        await pilot.press("escape", "5")
        await until(pilot, lambda: isinstance(app.screen, TunnelsScreen) and app.screen.query_one("#tunnels-table").row_count == 1)
        table = app.screen.query_one("#tunnels-table")
        row = [str(getattr(c, "plain", c)) for c in table.get_row_at(0)]
        assert row[0] == "web" and row[3] == "open" and row[-1] == tunnel.url
        await pilot.press("c")
        assert not any(t.is_open for t in app.tunnels.list(run.id))
