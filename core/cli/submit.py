"""`vessl-tui run FILE` after the options are read: submit, say the submit's warnings, then print the
run's id or follow the run to its end. No click here, so that the plain forms of `run` (`quick_run`,
tried first by `core.cli.main`) start a run without importing it; `run_cmds.run`, the click command,
uses the same functions for every other form.

    RUN_OPTIONS                       the options both read (the click command adds its others)
    quick_run(argv) -> bool           `run FILE [-c CLUSTER] [-f]`; False: nothing done, click's turn
    submit(eng, file, cluster, document, follow) -> RunRecord
    report(eng, record, follow)       the id, or the run followed to its end (exits with its code)
    follow_to_end(eng, record)        stream the log, exit with the run's exit code
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

from core.cli.argv import Option, parse
from core.cli.listing import engine
from core.cli.telling import put, say, user_errors
from core.humanize import printable

TYPE_CHECKING = False  # typing stays out of starting a run
if TYPE_CHECKING:
    from core.engine import Engine, RunRecord

RUN_OPTIONS = (
    Option(("--cluster", "-c"), "cluster", "Cluster to run on (default: the config's default, `local`).", "NAME",
           once=True),
    Option(("--follow", "-f"), "follow", "Stream the logs and exit with the run's exit code."),
)


def quick_run(argv: list[str]) -> bool:
    """Run `vessl-tui run ARGV` without click when ARGV is plain; False (nothing done) otherwise."""
    values = parse(argv, RUN_OPTIONS, arguments=1)
    if values is None or os.path.isdir(values["args"][0]):  # type: ignore[index]
        return False  # a folder: click says so, as it says every usage error

    @user_errors
    def run() -> None:
        eng = engine()
        follow = bool(values["follow"])
        report(eng, submit(eng, values["args"][0], values["cluster"], 0, follow), follow)  # type: ignore[index]

    run()
    return True


def submit(eng: "Engine", file: str, cluster: str | None, document: int, follow: bool) -> "RunRecord":
    """Submit FILE (handed to the supervisor server when one answers) and say the submit's warnings.
    A client that will follow the run readies its log watch while the server submits."""
    meanwhile = None
    if follow:
        from core.runwatch import prepare as meanwhile
    record = eng.submit(file, cluster, document, handoff=True, meanwhile=meanwhile)
    for note in notes(eng, record.id):
        say(printable(f"warning: {note}"))
    return record


def report(eng: "Engine", record: "RunRecord", follow: bool) -> None:
    """Print the run's id; with `follow`, stream its log first and exit with its exit code."""
    if follow:
        say(printable(f"run {record.id} ({record.name}) on {record.cluster}"))
        follow_to_end(eng, record)
    put(record.id + "\n")


def notes(eng: "Engine", run_id: str) -> list[str]:
    """The warnings the submit left in the run's provisioning log."""
    text, _ = eng.read_log(run_id, provisioning=True)
    return [line.split(" note: ", 1)[1] for line in text.decode(errors="replace").splitlines() if " note: " in line]


def stream(eng: "Engine", run_id: str, provisioning: bool = False,
           while_streaming: Callable[[], bool] | None = None) -> None:
    out = sys.stdout.buffer
    for chunk in eng.follow_log(run_id, provisioning=provisioning, stop=while_streaming):
        out.write(chunk)
        out.flush()


def pending_reasons(eng: "Engine", run_id: str) -> Callable[[], bool]:
    """A `stop` hook for `follow_log` that never stops it: it says on stderr why the run is still
    pending (waiting for GPUs: for how many, held by whom), once per reason, until the run starts."""
    said: list[str | None] = [None]
    started = [False]

    def tell() -> bool:
        if not started[0]:
            record = eng.get(run_id)
            started[0] = record.status != "pending"
            if not started[0] and record.reason and record.reason != said[0]:
                said[0] = record.reason
                say(printable(record.reason))
        return False

    return tell


def follow_to_end(eng: "Engine", record: "RunRecord") -> None:
    """Stream the run's log, then exit with its exit code (Ctrl-C detaches: the run goes on)."""
    try:
        stream(eng, record.id, while_streaming=pending_reasons(eng, record.id))
        final = eng.wait(record.id)
    except KeyboardInterrupt:
        say(f"\ndetached; run {record.id} goes on (vessl-tui logs {record.id} -f).")
        sys.exit(130)
    if final.status != "succeeded":
        say(printable(f"run {final.id} {final.status}" + (f": {final.reason}" if final.reason else "")))
    sys.exit(final.exit_code if final.exit_code is not None else (0 if final.status == "succeeded" else 1))
