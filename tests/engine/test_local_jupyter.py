"""Jupyter on the local cluster, as on SSH: started with the run's token (in its environment only),
on a free port from `options.jupyter_port`, its URL through a tunnel carries the token, and it ends
with the run."""

from __future__ import annotations

import time
from pathlib import Path

from core.engine import Engine
from core.jupyter import jupyter_token
from core.tunnels import TunnelManager
from tests.fixtures.sshd import free_port
from tests.ssh.test_jupyter import _status, jupyter_shim


def test_a_local_interactive_run_serves_its_notebook_with_its_token(config_file, tmp_path: Path) -> None:
    shim = jupyter_shim(tmp_path)
    first = free_port()
    config_file.write_text(f"clusters:\n  local:\n    kind: local\n    options: {{jupyter_port: {first}, "
                           f"jupyter_command: {shim}}}\n")
    spec = tmp_path / "nb.yaml"
    spec.write_text("name: nb\nresources:\n  cluster: local\ninteractive:\n  max_runtime: 1h\n"
                    "  jupyter:\n    idle_timeout: 30m\nrun: []\n")
    engine = Engine()
    record = engine.submit(str(spec))
    try:
        deadline = time.monotonic() + 60
        while not (engine.get(record.id).handle or {}).get("jupyter_port"):
            assert time.monotonic() < deadline, "the run did not start"
            time.sleep(0.2)
        port = engine.get(record.id).handle["jupyter_port"]
        assert port >= first
        token = jupyter_token(record.id)
        url = f"http://127.0.0.1:{port}/?token={token}"
        while _status(url) != 200:
            assert time.monotonic() < deadline, "the notebook did not answer"
            time.sleep(0.2)
        assert _status(f"http://127.0.0.1:{port}/?token=wrong") == 403
        tunnels = TunnelManager()
        assert tunnels.open_for_run(engine, record.id, port).url.endswith(f"/?token={token}")
        tunnels.close_all()
    finally:
        engine.stop(record.id)
        engine.wait(record.id, timeout=60)
    deadline = time.monotonic() + 30
    while _status(url) is not None:  # nothing left behind when the run ends
        assert time.monotonic() < deadline, "the notebook outlived its run"
        time.sleep(0.2)
    for path in Path(engine.home).rglob("*"):
        if path.is_file():
            assert token.encode() not in path.read_bytes(), f"the token is in {path}"
