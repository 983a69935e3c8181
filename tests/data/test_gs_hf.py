"""gs:// and hf:// take the same path as s3://: without credentials or a reachable endpoint a run
fails at provisioning with one sentence naming the source (never reaching past 127.0.0.1)."""

from __future__ import annotations

import pytest

from core.spec.runspec import Command, RunSpec, Volume
from tests.support import free_port


@pytest.fixture
def closed_endpoints(config_file, monkeypatch):
    """`storage.gs` and `storage.hf` pointed at a 127.0.0.1 port nothing listens on."""
    port = free_port()
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.delenv("HF_ENDPOINT", raising=False)
    config_file.write_text(f"storage:\n  gs: {{endpoint_url: 'http://127.0.0.1:{port}', token: anon}}\n"
                           f"  hf: {{endpoint: 'http://127.0.0.1:{port}', token: hf_not_a_real_token}}\n")
    return f"http://127.0.0.1:{port}"


def run_with(engine, volume: Volume):
    spec = RunSpec(kind="vessl-run", name="data", commands=[Command(command="mkdir -p out && echo x > out/x")],
                   volumes=[volume])
    return engine.wait(engine.submit_spec(spec).id, timeout=60)


@pytest.mark.parametrize("source", ["gs://bucket/data", "hf://org/model", "hf://datasets/org/set"])
def test_an_unreachable_store_fails_the_import_at_provisioning(engine, closed_endpoints, source):
    final = run_with(engine, Volume(kind="import", path="data", source=source, ref="main" if "hf" in source else None))
    scheme = source.partition(":")[0]
    where = source.replace("hf://org/model", "hf://org/model@main").replace("hf://datasets/org/set", "hf://datasets/org/set@main")
    assert final.status == "failed"
    assert final.reason == (f"could not download {where}: cannot reach {closed_endpoints} (Connection refused); "
                            f"check the network or the endpoint in `storage.{scheme}` of the config.")
    provisioning = engine.read_log(final.id, provisioning=True)[0].decode()
    assert "Traceback" not in provisioning and "hf_not_a_real_token" not in provisioning


def test_gs_without_credentials_says_where_they_go(engine, config_file, monkeypatch):
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    final = run_with(engine, Volume(kind="import", path="data", source="gs://bucket/data"))
    assert final.reason == ("could not download gs://bucket/data: no Google credentials: set "
                            "GOOGLE_APPLICATION_CREDENTIALS or `storage.gs.token` in the config (or a credential_name "
                            "secret).")


def test_an_export_to_an_unreachable_store_fails_the_run_after_it(engine, closed_endpoints):
    final = run_with(engine, Volume(kind="export", path="out", source="hf://org/model"))
    assert final.status == "failed" and final.exit_code == 0
    assert final.reason == (f"export out to hf://org/model failed: could not upload to hf://org/model: cannot reach "
                            f"{closed_endpoints} (Connection refused); check the network or the endpoint in "
                            "`storage.hf` of the config.")
