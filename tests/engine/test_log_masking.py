"""Beyond the peers, as CI systems do: a secret's value that the run itself prints is masked
(`***`) in the stored log, so neither `logs` nor the screen ever shows it."""

from __future__ import annotations

from core.logmask import Masker
from core.spec.runspec import EnvVar
from tests.engine.helpers import cli, spec, until


def test_what_a_run_prints_of_its_secrets_is_masked_in_the_log(engine, monkeypatch):
    monkeypatch.setenv("VESSL_TUI_SECRET_API_KEY", "named-s3cr3t-9a2c")
    run_spec = spec('echo "token=$TOKEN"; printf "api %s\\r" "$API"; echo "short $PIN"; '
                    'printf "%s" "$TOKEN" | cut -c1-6; echo "multi: $MULTI"; printf "no newline $TOKEN"')
    run_spec.env = [EnvVar(name="TOKEN", value="inline-s3cr3t", secret=True),
                    EnvVar(name="API", secret=True, secret_ref="API_KEY"),
                    EnvVar(name="PIN", value="42", secret=True),
                    EnvVar(name="MULTI", value="line-one\nline-two", secret=True)]
    record = engine.submit_spec(run_spec)
    final = engine.wait(record.id, timeout=60)
    assert final.status == "succeeded"
    expected = "token=***\napi ***\rshort 42\ninline\nmulti: ***\nno newline ***"
    assert engine.read_log(record.id)[0].decode() == expected  # a 2-character secret is not masked
    assert cli("logs", record.id).stdout == expected.replace("\r", "\n")  # text mode reads \r as a line end


def test_a_stop_and_background_writers_do_not_hold_the_masked_log_back(engine):
    run_spec = spec("(sleep 300; echo late) & echo \"up $TOKEN\"; trap 'echo bye $TOKEN; exit 3' TERM; "
                    "while true; do sleep 0.1; done", stop_duration=5)
    run_spec.env = [EnvVar(name="TOKEN", value="inline-s3cr3t", secret=True)]
    record = engine.submit_spec(run_spec)
    until(lambda: b"up ***" in engine.read_log(record.id)[0], what="the masked first line")
    engine.stop(record.id)
    final = engine.wait(record.id, timeout=60)
    assert final.status == "stopped"
    log = engine.read_log(record.id)[0].decode()
    assert log.startswith("up ***\n") and "bye ***\n" in log and "s3cr3t" not in log


def test_the_masker_keeps_offsets_when_asked_and_holds_partial_lines():
    masker = Masker(["hunter22"], keep_length=True)
    assert masker.feed(b"a hunt") == b"" and masker.feed(b"er22 b\nc") == b"a ******** b\n"
    assert masker.flush() == b"c"
