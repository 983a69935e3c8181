"""Interactive runs with Jupyter on an SSH host: the URL shown carries the run's token, the token
works, and it is written nowhere (store, logs, the host's run folder). A stand-in server plays
Jupyter's part on the port (Jupyter itself is not installed here), reading JUPYTER_TOKEN as Jupyter does.
"""

from __future__ import annotations

import signal
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from core.engine import Engine
from core.jupyter import jupyter_token
from tests.fixtures.sshd import free_port
from tests.ssh.test_engine_ssh import tunnel_to_running_run, write_config, write_spec
from tests.support import until as wait_for

pytestmark = pytest.mark.ssh
STAND_IN = Path(__file__).with_name("jupyter_stand_in.py")


def jupyter_shim(folder: Path) -> Path:
    """A `jupyter` program in `folder/bin` that runs the stand-in on the `--port` it is given."""
    shim = folder / "bin" / "jupyter"
    shim.parent.mkdir()
    shim.write_text(f"#!/bin/sh\nfor a in \"$@\"; do case $a in --port=*) port=${{a#--port=}};; esac; done\n"
                    f"exec {sys.executable} {STAND_IN} $port\n")
    shim.chmod(0o755)
    return shim


def _status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


def test_jupyter_url_carries_the_token_and_the_token_is_stored_nowhere(sshd, config_file, tmp_path) -> None:
    port = free_port()
    write_config(config_file, sshd, options={"jupyter_port": port})
    spec = write_spec(tmp_path, f"name: nb\nrun:\n  - command: exec python3 {STAND_IN} {port}\n"
                                "interactive:\n  max_runtime: 1h\n  jupyter:\n    idle_timeout: 120m\n")
    with tunnel_to_running_run(spec, port) as (proc, line, run_id):
        token = jupyter_token(run_id)
        url = line.split()[0]
        assert url.startswith("http://127.0.0.1:") and url.endswith(f"/?token={token}"), line + proc.stderr.read()
        assert "nb Jupyter (forwarded over SSH)" in line
        assert wait_for(lambda: _status(url), what="Jupyter through the tunnel") == 200
        assert _status(url.split("?")[0]) == 403  # without the token: refused
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0
    places = [Path(p) for p in (str(config_file.parent), str(sshd.folder / "work"))]
    import os

    places.append(Path(os.environ["VESSL_TUI_HOME"]))
    for place in places:
        for path in place.rglob("*"):
            if path.is_file():
                assert token.encode() not in path.read_bytes(), f"the Jupyter token is in {path}"


def test_two_notebooks_on_one_host_get_a_port_each(sshd, config_file, tmp_path) -> None:
    """Jupyter named by `jupyter_command` (here a stand-in that reads `--port` as Jupyter does);
    the second run's Jupyter takes the next free port, and each answers only its own run's token."""
    shim = jupyter_shim(tmp_path)
    first = free_port()
    write_config(config_file, sshd, options={"jupyter_port": first, "jupyter_command": str(shim)})
    engine = Engine()
    records = []
    for name in ("nb-a", "nb-b"):
        folder = tmp_path / name
        folder.mkdir()
        spec = write_spec(folder, f"name: {name}\nrun: sleep 120\ninteractive:\n  max_runtime: 1h\n  jupyter: {{idle_timeout: 1h}}\n")
        records.append(engine.submit(spec, cluster="box"))
        wait_for(lambda: (engine.get(records[-1].id).handle or {}).get("jupyter_port"), what="the run to start")
    try:
        ports = [engine.get(r.id).handle["jupyter_port"] for r in records]
        assert len(set(ports)) == 2 and min(ports) >= first, ports
        for record, port in zip(records, ports):
            own = f"http://127.0.0.1:{port}/?token={jupyter_token(record.id)}"
            assert wait_for(lambda: _status(own), what=f"the notebook of {record.name}") == 200
        other = jupyter_token(records[0].id)
        assert _status(f"http://127.0.0.1:{ports[1]}/?token={other}") == 403
    finally:
        for record in records:
            engine.stop(record.id)
            engine.wait(record.id, timeout=60)
