"""Serve test helpers: real replica processes (an HTTP server reading $PORT) and free ports."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import free_port, wait_port

REPLICA_APP = Path(__file__).with_name("replica_app.py")


def vessl_revision_yaml(message: str, more: str = "") -> str:
    """A VESSL Serve revision running the test replica on the local cluster, exposing port 8000;
    `more` is YAML appended after `service: {expose: 8000}` (indent it to extend `service`)."""
    return f"""\
name: echo
message: {message}
image: python:3.11
resources:
  cluster: local
run:
  - command: exec python3 {REPLICA_APP} --port $PORT
ports:
  - name: http
    type: http
    port: 8000
service:
  expose: 8000
{more}"""


@pytest.fixture
def replica_procs():
    """start(revision, index, **env) -> (process, port): a real replica process (`env`: more of its
    environment); all killed at the end."""
    procs: list[subprocess.Popen] = []

    def start(revision: int, index: int, **more_env: str) -> tuple[subprocess.Popen, int]:
        port = free_port()
        env = dict(os.environ, PORT=str(port), REVISION=str(revision), VESSL_TUI_REPLICA=str(index), **more_env)
        proc = subprocess.Popen([sys.executable, str(REPLICA_APP)], env=env, stdout=subprocess.DEVNULL)
        procs.append(proc)
        wait_port(port)
        return proc, port

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait()


from tests.fixtures.dockerd import BUSYBOX_IMAGE, dockerd  # noqa: E402,F401  (the real engine, session scope)
from tests.fixtures.sshd import sshd  # noqa: E402,F401  (a real OpenSSH server, session scope)
