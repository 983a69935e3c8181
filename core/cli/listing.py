"""`vessl-tui ps`: its options, its output, and a click-free way to run its common forms.

`PS_OPTIONS` (`core.cli.argv.Option`s) is the one description of the command's options:
`run_cmds.ps` (the click command, which gives `--help`, errors and every other form) is built from
it, and so is `quick_ps`, which `core.cli.main` tries first so that listing runs does not pay for
importing click. `quick_ps` accepts only argv it fully understands; anything else goes to click.
"""

from __future__ import annotations

import time

from core.cli.argv import Option, parse
from core.cli.telling import put, user_errors
from core.engine import Engine, EngineError
from core.humanize import age, exit_reason, printable

RECENT_SECONDS = 3600.0


PS_OPTIONS = (
    Option(("--all", "-a"), "show_all", "Every run (default: active and the last hour's)."),
    Option(("--json",), "as_json", "Print a JSON list of runs."),
    Option(("--label",), "labels", "Only runs with this label.", "KEY=VALUE"),
)


def engine() -> Engine:
    """An engine after reconciling: every client repairs runs whose supervisor died."""
    eng = Engine()
    eng.reconcile()
    return eng


def run_json(eng: Engine, run) -> dict:
    """The Run object of every `--json` answer: the record's fields and its last metrics."""
    return run.as_json() | {"metrics": eng.last_metrics(run.id)}


def ps_lines(show_all: bool = False, as_json: bool = False, labels: tuple[str, ...] = ()) -> list[str]:
    """What `vessl-tui ps` prints, one string per line."""
    bad = [label for label in labels if "=" not in label]
    if bad:
        raise EngineError(f"--label takes KEY=VALUE, got `{bad[0]}`; e.g. --label service=echo.")
    wanted = dict(label.split("=", 1) for label in labels)
    eng = engine()
    runs = eng.list_runs(labels=wanted or None, summary=not as_json)
    if not show_all:
        recent = time.time() - RECENT_SECONDS
        runs = [r for r in runs if not r.final or (r.ended_at or r.created_at) >= recent]
    if as_json:
        import json

        return [json.dumps([run_json(eng, r) for r in runs], indent=2)]
    now = time.time()
    lines = [f"{'ID':9} {'NAME':20} {'STATUS':12} {'CLUSTER':10} {'GPU':7} {'AGE':5} {'EXIT':>4}  REASON"]
    for r in runs:
        exit_code = "-" if r.exit_code is None else str(r.exit_code)
        ended = exit_reason(r.exit_code, r.reason, r.final)
        reason = ended.partition(" ")[2] if r.exit_code is not None else ended
        if r.status == "pending" and r.reason:  # waiting in a GPU queue: for what
            reason = r.reason
        lines.append(printable(
            f"{r.id:9} {r.name[:20]:20} {r.shown_status:12} {r.cluster[:10]:10} {r.gpus:7} "
            f"{age(r.created_at, now):5} {exit_code:>4}  {reason}".rstrip()
        ))
    return lines


def quick_ps(argv: list[str]) -> bool:
    """Run `vessl-tui ps ARGV` without click when ARGV is plain; False (nothing done) otherwise."""
    values = parse(argv, PS_OPTIONS)
    if values is None:
        return False
    lines = user_errors(ps_lines)(**values)  # type: ignore[arg-type]
    put("".join(line + "\n" for line in lines))
    return True
