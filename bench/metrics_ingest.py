"""Log ingest with metrics parsing on and off: a run printing 1,000,000 lines, one in ten a metric
line, from submit until `vessl-tui logs -f` has it all (the run is final, so its metrics are stored
too). Baseline from the same run: the same run with parsing off (VESSL_TUI_LOG_METRICS=0).
Target: off/on >= 0.9 (parsing never slows ingest measurably). Also the parser alone, in MB/s.

`python bench/metrics_ingest.py [WORD...]` runs the producers whose name holds a word (default: all).
Two producers: a shell loop (bench/log_ingest.py's, a run printing as it works: the parser keeps
up while it runs) and awk (31 MB dumped in a fraction of a second: nearly all parsing happens after
the work ended, before the run is final, so this is the worst case).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

from _common import cli, fresh_home, report

LINES = 1_000_000
REPEAT = 3  # runs of each, the best one counts
def awk(metric_printf: str) -> str:
    """An awk program printing LINES lines, every tenth from `metric_printf` (awk's printf args)."""
    return ("awk 'BEGIN { for (i = 1; i <= %d; i++) { if (i %% 10 == 0) printf %s; "
            "else printf \"line %%d of the training log\\n\", i } }'" % (LINES, metric_printf))


PRODUCERS = {
    "shell loop, key=value": (f"seq 1 {LINES} | while read -r i; do if [ $((i % 10)) = 0 ]; "
                              "then echo \"step=$i loss=0.$i lr=0.0001\"; else echo \"line $i of the training log\"; fi; done"),
    "awk dump, key=value": awk('"step=%d loss=%.5f lr=0.0001\\n", i, 1 / i'),
    "awk dump, HF dict": awk('"{\\047loss\\047: %.5f, \\047learning_rate\\047: 5e-05, \\047epoch\\047: %.3f}\\n", '
                             "1 / i, i / 10000"),
}


def ingest(home, text: str, parsing: bool) -> tuple[float, str, float]:
    """(seconds from submit until `logs -f` returned every line, the run's id, seconds more until
    `vessl-tui metrics` had every point: the supervisor parses a backlog after the run's end)."""
    spec = home / "ingest.yaml"
    spec.write_text("type: task\nname: ingest\ncommands:\n  - |\n    " + text + "\n")
    env = dict(os.environ, VESSL_TUI_LOG_METRICS="1" if parsing else "0")
    start = time.perf_counter()
    run_id = cli("run", str(spec), capture_output=True, text=True, check=True, env=env).stdout.split()[-1]
    out = cli("logs", run_id, "-f", stdout=subprocess.PIPE, check=True, env=env).stdout
    took = time.perf_counter() - start
    assert out.count(b"\n") == LINES, out.count(b"\n")
    from core.curves.files import LOG_METRICS, complete
    from core.paths import run_dir

    folder = run_dir(run_id)
    while parsing and not complete(folder):
        time.sleep(0.005)
    lag = time.perf_counter() - start - took
    records = (folder / LOG_METRICS).read_bytes().count(b"\n") if parsing else 0
    assert records == (LINES // 10 if parsing else 0), records
    return took, run_id, lag


def parser_alone() -> None:
    from core.curves.parse import LogParser

    data = b"".join(b"line %d of the training log\n" % i if i % 10 else b"step=%d loss=%.5f lr=0.0001\n" % (i, 1 / i)
                    for i in range(1, LINES + 1))
    parser = LogParser()
    start = time.perf_counter()
    points = sum(len(parser.feed(data[i:i + (1 << 20)])) for i in range(0, len(data), 1 << 20))
    took = time.perf_counter() - start
    print(f"parser alone: {len(data) / 2**20:.0f} MB, {LINES:,} lines, {points:,} records in {took * 1000:.0f} ms "
          f"({len(data) / 2**20 / took:.0f} MB/s)")


def main() -> None:
    home = fresh_home()
    wanted = [name for name in PRODUCERS if any(word in name for word in sys.argv[1:])] or list(PRODUCERS)
    for label in wanted:
        text = PRODUCERS[label]
        offs, ons, lags = [], [], []
        for _ in range(REPEAT):  # alternated, so that a change of load on the machine hits both
            offs.append(ingest(home, text, parsing=False)[0])
            took, _, lag = ingest(home, text, parsing=True)
            ons.append(took)
            lags.append(lag)
        on, off = min(ons), min(offs)
        report(f"log ingest, {LINES:,} lines, one in ten a metric line ({label}), parsing on", on, off, "parsing off")
        print(f"  every one of the {LINES // 10 * 2:,} points ({LINES // 10:,} lines) stored {min(lags) * 1000:.0f} ms after the log was whole "
              f"(median {sorted(lags)[len(lags) // 2] * 1000:.0f} ms)")
    parser_alone()


if __name__ == "__main__":
    main()
