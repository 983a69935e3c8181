"""A runaway retry: `retry: true` on a command that fails at once, stopped after 10 s. Attempts stay
few (exponential back-off, stated in the provisioning log), old attempts' files are removed, and the
stop ends the run as `stopped` at once, even inside a back-off window."""

from __future__ import annotations

import re
import time

from core.engine import Engine
from core.supervisor import KEEP_ATTEMPTS, retry_delay
from tests.support import cli, until


def test_fast_failing_retry_is_bounded_and_stops_as_stopped(tmp_path, vessl_home, fault):
    report = fault("fast-failing retry: true, stopped after 10 s")
    spec_file = tmp_path / "flaky.dstack.yml"
    spec_file.write_text("type: task\nname: flaky\nretry: true\ncommands:\n  - echo try; exit 3\n")
    submitted = cli("run", str(spec_file))
    assert submitted.returncode == 0, submitted.stderr
    run_id = submitted.stdout.split()[-1]
    engine = Engine()
    time.sleep(10)
    record = engine.get(run_id)
    report.tried = record.attempt
    # back-off 1, 2, 4, 8 s: at most 5 attempts start within 10 s (30,728 did before)
    report.failed += record.attempt > 5
    stopped = cli("stop", run_id, timeout=60)
    report.check_text(stopped.stderr, "stop's stderr")
    final = engine.get(run_id)
    report.failed += (stopped.returncode, final.status) != (0, "stopped")
    files = [p.name for p in (vessl_home / "runs" / run_id).glob("attempt-*")]
    attempts_with_files = {re.match(r"attempt-(\d+)\.", name).group(1) for name in files}
    report.failed += len(attempts_with_files) > KEEP_ATTEMPTS
    provision = engine.read_log(run_id, provisioning=True)[0].decode()
    report.check_text(provision, "the provisioning log")
    stated = re.findall(r"attempt \d+ failed \(exit code 3\); attempt (\d+) at \d\d:\d\d:\d\d \(in (\d+)s\)", provision)
    report.failed += [int(n) for n, _ in stated] != list(range(2, record.attempt + 2))[: len(stated)] or not stated
    report.notes.append(f"{record.attempt} attempts, files of {sorted(attempts_with_files)}, {final.status}: "
                        f"{final.reason}\n{provision}")
    report.assert_clean()
    assert engine.read_log(run_id)[0].count(b"try\n") == final.attempt  # every attempt's output kept


def test_back_off_doubles_up_to_its_cap_and_starts_over_after_a_long_attempt():
    assert [retry_delay(n, 0.5) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 8.0]
    assert retry_delay(20, 0.5) == 60.0
    assert retry_delay(20, 3600.0) == 1.0


def test_stop_inside_a_back_off_window_ends_the_run_at_once(engine):
    from core.spec.runspec import Retry
    from tests.engine.helpers import spec

    record = engine.submit_spec(spec("exit 1", retry=Retry(on_events=["error"], limit=10)))
    until(lambda: engine.get(record.id).attempt >= 3, timeout=30, what="a third attempt")
    # attempt 3 fails at once and waits 4 s before attempt 4: stop inside that window
    until(lambda: b"attempt 3 failed" in engine.read_log(record.id, provisioning=True)[0], timeout=30,
          what="attempt 3 to fail")
    engine.stop(record.id)
    final = engine.wait(record.id, timeout=30)
    assert (final.status, final.attempt) == ("stopped", 3)  # no fourth attempt was started
    assert final.reason == "stopped by request"
