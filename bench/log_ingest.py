"""Log ingest: a run printing 1,000,000 lines, from submit until `vessl-tui logs` has it all,
against the same command piped straight to a file. Target: baseline/ours >= 0.5."""

from __future__ import annotations

import subprocess

from _common import cli, fresh_home, report, timed

LINES = 1_000_000
COMMAND = f"seq 1 {LINES} | while read -r i; do echo \"line $i of the training log\"; done"
FAST = f"yes 'line of the training log' | head -n {LINES}"


def main() -> None:
    home = fresh_home()
    for label, command in (("shell loop", COMMAND), ("yes | head", FAST)):
        spec = home / "ingest.yaml"
        spec.write_text(f"type: task\nname: ingest\ncommands:\n  - {command!r}\n".replace("'", "'"))

        def ours() -> None:
            run_id = cli("run", str(spec), capture_output=True, text=True, check=True).stdout.split()[-1]
            out = cli("logs", run_id, "-f", stdout=subprocess.PIPE, check=True).stdout
            assert out.count(b"\n") == LINES, out.count(b"\n")

        def baseline() -> None:
            subprocess.run(["bash", "-c", f"{command} > {home / 'plain.log'}"], check=True)

        report(f"log ingest, {LINES:,} lines ({label})", timed(ours, 2), timed(baseline, 2), "bash > file")


if __name__ == "__main__":
    main()
