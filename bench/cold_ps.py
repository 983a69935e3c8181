"""Cold `vessl-tui ps` (a new process listing 50 runs) against `python -c pass`. Target: <= 3x."""

from __future__ import annotations

import subprocess
import sys
import time

from _common import REPO, cli, fresh_home, report, timed


def main() -> None:
    fresh_home()
    from core.store import Store

    store = Store()
    for i in range(50):
        store.insert_run({"id": f"{i:08x}", "name": f"run-{i}", "status": "succeeded", "cluster": "local",
                          "created_at": time.time() - i, "exit_code": 0})

    def ours() -> None:
        cli("ps", "--all", stdout=subprocess.DEVNULL, check=True)

    def baseline() -> None:
        subprocess.run([sys.executable, "-c", "pass"], cwd=REPO, check=True)

    ours()
    report("cold ps", timed(ours, 7), timed(baseline, 7), "python -c pass")


if __name__ == "__main__":
    main()
