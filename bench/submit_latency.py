"""Submit -> first log line: `Engine.submit_spec` until the run's log has its first line, against
`bash -c` started directly until its first line arrives."""

from __future__ import annotations

import subprocess
import time

from _common import fresh_home, report, timed


def main() -> None:
    fresh_home()
    from core.engine import Engine
    from core.spec.runspec import Command, RunSpec

    engine = Engine()
    spec = RunSpec(kind="dstack-task", name="latency", commands=[Command(command="echo first")])

    def ours() -> None:
        record = engine.submit_spec(spec)
        while not engine.read_log(record.id)[0]:
            time.sleep(0.001)
        engine.wait(record.id)

    def baseline() -> None:
        proc = subprocess.Popen(["bash", "-c", "echo first"], stdout=subprocess.PIPE)
        proc.stdout.readline()
        proc.wait()

    ours()  # warm the page cache
    report("submit -> first log line", timed(ours, 5), timed(baseline, 5), "bash -c")


if __name__ == "__main__":
    main()
