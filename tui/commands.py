"""`:` commands, as in k9s: `:runs`, `:stop NAME…`, `:logs NAME`, `:run FILE`, `:q`, … — what each
does, completing what is typed, and doing it. Runs are named by id, unique id prefix or name (its
latest run), as on the command line.

Pure parts (`complete_command`, `split`) are tested alone; `execute` acts through the App.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tui.app import VesslApp


@dataclass(frozen=True)
class Command:
    name: str
    argument: str  # "" (none), "run", "runs", "file"
    help: str


COMMANDS = (
    Command("runs", "", "the Runs area"),
    Command("revisions", "", "the Revisions area"),
    Command("clusters", "", "the Clusters & presets area"),
    Command("gpus", "", "the GPUs area"),
    Command("tunnels", "", "the Tunnels area"),
    Command("data", "", "the Data area: registry datasets, models, artifacts"),
    Command("logs", "run", "open the run's log (run detail)"),
    Command("stop", "runs", "stop these runs"),
    Command("rerun", "runs", "rerun these runs"),
    Command("rm", "runs", "remove these runs (running ones are stopped first)"),
    Command("run", "file", "run a spec file"),
    Command("edit", "file", "open a spec file in the editor"),
    Command("help", "", "list the commands"),
    Command("q", "", "quit (runs go on)"),
)
BY_NAME = {c.name: c for c in COMMANDS} | {"quit": Command("quit", "", "quit (runs go on)")}


def split(text: str) -> tuple[str, list[str]]:
    """`:stop a b` -> ("stop", ["a", "b"]) (the leading `:` is optional)."""
    words = text.strip().lstrip(":").split()
    return (words[0].lower(), words[1:]) if words else ("", [])


def common_completion(typed: str, candidates: Iterable[str]) -> tuple[str, list[str]]:
    """(the longest common start of the candidates beginning with `typed`, those candidates)."""
    import os

    matches = sorted({c for c in candidates if c.startswith(typed)})
    if not matches:
        return typed, []
    return os.path.commonprefix(matches), matches


def complete_command(text: str, run_names: Iterable[str]) -> tuple[str, list[str]] | None:
    """Complete the last word of `text`: a command name, or a run name for commands that take
    runs. None when the last word is a file path (the caller completes it from the folder)."""
    head, space, last = text.rpartition(" ")
    if not space:
        done, matches = common_completion(last, [c.name for c in COMMANDS])
        return (done + " " if len(matches) == 1 else done), matches
    command = BY_NAME.get(split(head)[0])
    if command is None or not command.argument:
        return text, []
    if command.argument == "file":
        return None
    done, matches = common_completion(last, run_names)
    return f"{head} {done}" + (" " if len(matches) == 1 and command.argument == "runs" else ""), matches


def help_text() -> str:
    names = {"run": " NAME", "runs": " NAME…", "file": " FILE"}
    return "   ".join(f":{c.name}{names.get(c.argument, '')}" for c in COMMANDS)


def execute(app: "VesslApp", text: str) -> None:
    """Do the command (from the event loop); what cannot be done is said in one sentence."""
    name, args = split(text)
    if not name:
        return
    command = BY_NAME.get(name)
    if command is None:
        app.notify(f"No command :{name}. The commands: {help_text()}", severity="warning", timeout=10)
        return
    if command.argument and not args:
        app.notify(f":{name} needs {'a file' if command.argument == 'file' else 'a run'}: {help_text()}",
                   severity="warning", timeout=10)
        return
    if command.argument in ("", "run", "file") and len(args) > (0 if not command.argument else 1):
        app.notify(f":{name} takes {'no argument' if not command.argument else 'one argument'}.", severity="warning")
        return
    if name in ("q", "quit"):
        app.exit()
    elif name == "help":
        app.notify(help_text(), title="Commands", timeout=15)
    elif not command.argument:
        app.switch_mode(name)
    elif name == "edit":
        from tui.screens.editor import EditorScreen

        app.push_screen(EditorScreen(args[0]))
    else:
        app.run_command_worker(name, args)


def act(app: "VesslApp", name: str, args: list[str]) -> None:
    """Blocking (a thread worker): commands that reach the engine."""
    from pathlib import Path

    engine = app.engine
    if name == "run":
        run = engine.submit(str(Path(args[0]).expanduser()))
        app.call_from_thread(app.notify, f"Submitted {run.name} ({run.id}) on {run.cluster}.")
        return
    if name == "logs":
        run = engine.get(args[0])
        from tui.screens.run_detail import RunDetailScreen

        app.call_from_thread(app.push_screen, RunDetailScreen(run.id))
        return
    done, failures = [], []
    for ref in args:
        try:
            run = engine.get(ref)
            if name == "stop" and run.final:
                failures.append(f"{run.name} is {run.status}: there is nothing to stop")
                continue
            if name == "stop":
                engine.stop(run.id)
            elif name == "rerun":
                engine.rerun(run.id)
            else:
                engine.remove(run.id, force=True)
            done.append(run.name)
        except ValueError as exc:
            failures.append(str(exc).rstrip("."))
    verb = {"stop": "Stopping", "rerun": "Rerunning", "rm": "Removed"}[name]
    message = f"{verb} {', '.join(done)}." if done else ""
    if failures:
        message += (" " if message else "") + "; ".join(failures) + "."
    app.call_from_thread(app.notify, message, severity="warning" if failures else "information")

