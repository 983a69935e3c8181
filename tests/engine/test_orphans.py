"""A client killed between storing a run and starting its supervisor leaves no run behind: the
next reconcile starts the supervisor (its secrets again from the spec file or the config), or fails
the run with the reason when a secret is gone with the client."""

from __future__ import annotations

import hashlib
import time

import pytest

from core.engine import Engine
from core.reconcile import ORPHAN_SECONDS


@pytest.fixture
def orphaned(monkeypatch, engine, tmp_path):
    """submit(yaml) -> run id: stored as `submit` does, its supervisor never started, made old
    enough for reconcile to adopt it."""

    def submit(text: str) -> str:
        path = tmp_path / "orphan.yaml"
        path.write_text(text)
        with monkeypatch.context() as patch:
            patch.setattr(Engine, "_spawn_supervisor", lambda self, run_id, payload: None)
            run_id = engine.submit(str(path)).id
        engine.store.update_run(run_id, created_at=time.time() - ORPHAN_SECONDS - 1)
        return run_id

    return submit


def test_a_run_whose_client_died_before_starting_it_is_started_with_its_secrets(engine, orphaned):
    digest = hashlib.sha256(b"it's-s3cr3t").hexdigest()
    run_id = orphaned("name: orphan\nresources: {cluster: local}\n"
                      "env:\n  TOKEN: {value: 'it''s-s3cr3t', secret: true}\n"
                      "run:\n  - command: |\n"
                      f"      [ $(printf %s \"$TOKEN\" | sha256sum | cut -c1-64) = {digest} ] && echo secret-ok\n")
    assert engine.get(run_id).status == "pending"
    assert [r.id for r in Engine().reconcile()] == [run_id]
    final = engine.wait(run_id, timeout=60)
    assert (final.status, engine.read_log(run_id)[0]) == ("succeeded", b"secret-ok\n")
    assert b"killed before starting its supervisor" in engine.read_log(run_id, provisioning=True)[0]


def test_an_orphan_whose_secret_left_with_its_client_fails_with_the_reason(engine, orphaned, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "from-the-shell")
    run_id = orphaned("type: task\nname: orphan\nenv: [HF_TOKEN]\ncommands: [echo hi]\n")
    monkeypatch.delenv("HF_TOKEN")
    Engine().reconcile()
    final = engine.get(run_id)
    assert final.status == "failed"
    assert final.reason == ("the client that submitted it was killed before starting it, and HF_TOKEN comes from "
                            "your environment but is not set; export it and submit again.")
