"""Replicas as containers on the real Docker engine (tests/fixtures/dockerd.py), host networking."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from core.serve.actions import ServeActions
from tests.serve.conftest import BUSYBOX_IMAGE
from tests.serve.test_replicas import cli_ok, endpoint_of, get, running, stop_everything, wait_until  # noqa: F401

pytestmark = pytest.mark.docker

SPEC = f"""\
type: service
name: web
image: {BUSYBOX_IMAGE}
commands:
  - mkdir -p /tmp/www && echo "replica=$VESSL_TUI_REPLICA" > /tmp/www/index.html
  - exec httpd -f -p 127.0.0.1:$PORT -h /tmp/www
port: 8000
replicas: 2
"""


def test_container_replicas_behind_the_endpoint(dockerd: str, config_file: Path, tmp_path: Path) -> None:
    config_file.write_text(f"clusters:\n  dk: {{kind: docker, host: '{dockerd}', options: {{network: host}}}}\n")
    spec = tmp_path / "web.yml"
    spec.write_text(SPEC)
    assert cli_ok("create", str(spec), "--cluster", "dk", "--start").strip() == "web:1 starting"
    wait_until(running("web:1", 2), timeout=120, what="two ready container replicas")
    url = endpoint_of("web")
    seen = Counter(get(url)[1].strip() for _ in range(20))
    assert seen.keys() == {"replica=0", "replica=1"}, seen
    from core.engine import Engine

    runs = [r.run_id for r in ServeActions().store.replicas("web", 1)]
    assert {Engine().get(run_id).cluster for run_id in runs} == {"dk"}
    cli_ok("stop", "web:1")
    wait_until(lambda: all(Engine().get(run_id).final for run_id in runs), timeout=60, what="containers stopped")
