"""The headless commands of the `vessl-tui` console script (`tui.launch` opens the TUI when there
are no arguments, and hands everything else to `main` here). Subcommand modules are imported only when
their command runs, so `vessl-tui ps` never pays for pydantic, docker, paramiko or textual.

Each subcommand is registered in `COMMANDS` as name -> "module:attribute" (a click command).
`QUICK` names click-free paths for the hottest commands (`ps`, `run`, `validate`): each runs the
plain forms of its command's argv (from the same option table as the click command, `core.cli.argv`)
and leaves the rest to click, which is imported only then (`cli`, the click group, is built on
first use). `vessl-tui --help` is printed without click too (`help_text`, the text click would
print) on a terminal at least 80 columns wide or a pipe; narrower terminals get click's own wrapping.
Exit codes: 0 success, 1 the operation failed (invalid spec, failed run, unknown run), 2 usage error.
"""

from __future__ import annotations

import sys

COMMANDS: dict[str, tuple[str, str]] = {
    # name: (module:attr, one-line help shown in `vessl-tui --help`)
    "validate": ("core.cli.spec_cmds:validate", "Validate spec files; compiler-style errors."),
    "schema": ("core.cli.spec_cmds:schema", "Print the JSON Schema of a spec format."),
    "run": ("core.cli.run_cmds:run", "Submit a spec as a run."),
    "ps": ("core.cli.run_cmds:ps", "List runs."),
    "logs": ("core.cli.run_cmds:logs", "Print (or follow) a run's log."),
    "metrics": ("core.cli.metrics_cmds:metrics", "Print the metric series runs reported."),
    "stop": ("core.cli.run_cmds:stop", "Stop runs."),
    "rerun": ("core.cli.run_cmds:rerun", "Run a run's stored spec again."),
    "rm": ("core.cli.run_cmds:rm", "Remove runs and what they left."),
    "show": ("core.cli.run_cmds:show", "Show one run's details."),
    "clusters": ("core.cli.cluster_cmds:clusters", "List clusters, test or trust them."),
    "presets": ("core.cli.cluster_cmds:presets", "List resource presets."),
    "tunnel": ("core.cli.tunnel_cmds:tunnel", "Forward a run's port to this machine."),
    "shell": ("core.cli.shell_cmds:shell", "Open a shell inside a run."),
    "gpus": ("core.cli.gpu_cmds:gpus", "Show GPUs of this machine and reachable hosts."),
    "revision": ("core.cli.revision_cmds:revision", "Serve revisions: create, list, start, stop, ..."),
    "datasets": ("core.cli.registry_cmds:datasets", "Registry datasets: list, show, rm."),
    "models": ("core.cli.registry_cmds:models", "Registry models: list, show, rm."),
    "artifacts": ("core.cli.registry_cmds:artifacts", "Registry artifacts: list, show, rm."),
    "supervise": ("core.supervisor:supervise_command", "Internal: the detached supervisor of one run."),
}

#: name -> "module:function(argv) -> bool" (True: handled; False: leave it to click)
QUICK: dict[str, str] = {"ps": "core.cli.listing:quick_ps", "run": "core.cli.submit:quick_run",
                         "validate": "core.cli.validation:plain_validate"}

DESCRIPTION = "vessl-tui: a terminal workstation for ML runs. Without a command, opens the TUI."
HELP_FLAGS = ("-h", "--help")
_GROUP: list = []  # the click group, once built


def __getattr__(name: str):
    """`cli`: the click group (click is imported on first use)."""
    if name == "cli":
        return _click_group()
    raise AttributeError(name)


def listed_commands() -> list[str]:
    """The commands `--help` lists (not the internal ones), sorted."""
    return sorted(name for name in COMMANDS if name != "supervise")


def _wrapped(text: str, width: int, indent: str) -> list[str]:
    """`text`'s words filled into lines of at most `width` characters, each starting with `indent`."""
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(indent + word)
    return lines


def help_text() -> str:
    """What `vessl-tui --help` prints on a terminal at least 80 columns wide (click's layout)."""
    names = listed_commands()
    first = max(map(len, names))
    return "\n".join([
        "Usage: vessl-tui [OPTIONS] COMMAND [ARGS]...", "", *_wrapped(DESCRIPTION, 78, "  "), "",
        "Options:", "  --version   Show the version and exit.", "  -h, --help  Show this message and exit.", "",
        "Commands:", *(f"  {name:{first}}  {COMMANDS[name][1]}" for name in names),
    ]) + "\n"


def _wide_enough() -> bool:
    """Whether click would lay out help 80 columns wide here (it asks `shutil.get_terminal_size`)."""
    import os

    try:
        columns = int(os.environ.get("COLUMNS") or 0)
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns
        except (AttributeError, ValueError, OSError):
            columns = 80
    return columns >= 80


def _click_group():
    """The `vessl-tui` click group, whose subcommands are imported when they run."""
    if _GROUP:
        return _GROUP[0]
    import importlib

    import click

    class LazyGroup(click.Group):
        """A click group whose subcommands are imported on first use."""

        def list_commands(self, ctx: click.Context) -> list[str]:
            return listed_commands()

        def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
            target = COMMANDS.get(cmd_name)
            if target is None:
                return None
            module_name, attr = target[0].split(":")
            try:
                module = importlib.import_module(module_name)
            except ModuleNotFoundError as exc:
                if exc.name and exc.name.startswith(module_name):
                    return _unavailable(cmd_name)
                raise
            return getattr(module, attr)

        def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
            rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def _unavailable(name: str) -> click.Command:
        @click.command(name=name, context_settings={"ignore_unknown_options": True})
        @click.argument("args", nargs=-1, type=click.UNPROCESSED)
        def missing(args: tuple[str, ...]) -> None:
            click.echo(f"error: the `{name}` command is not available in this build.", err=True)
            sys.exit(2)

        return missing

    @click.group(cls=LazyGroup, help=DESCRIPTION, no_args_is_help=True,
                 context_settings={"help_option_names": list(HELP_FLAGS)})
    @click.version_option(package_name="vessl-tui")
    def cli() -> None:
        pass

    _GROUP.append(cli)
    return cli


def main() -> None:
    argv = sys.argv[1:]
    if len(argv) == 1 and argv[0] in HELP_FLAGS and _wide_enough():
        sys.stdout.write(help_text())
        return
    quick = QUICK.get(argv[0]) if argv else None
    if quick is not None:
        module_name, attr = quick.split(":")
        __import__(module_name)
        try:
            if getattr(sys.modules[module_name], attr)(argv[1:]):
                return
        except (EOFError, KeyboardInterrupt):  # as click ends: a blank line after the ^C, then a word
            sys.stderr.write("\nAborted!\n")
            sys.exit(1)
    _click_group()(prog_name="vessl-tui")


if __name__ == "__main__":
    main()
