"""`vessl-tui shell RUN`: an interactive shell inside a running run, on the user's terminal.

Works for any backend with the `ShellAccess` capability (Docker: `docker exec -it … sh|bash`).
The command replaces this process with the backend's shell program, so the shell owns the terminal
and its exit code becomes the command's.
"""

from __future__ import annotations

import os

import click

from core.cli.listing import engine
from core.cli.telling import fail, user_errors


@click.command(name="shell")
@click.argument("run")
@user_errors
def shell(run: str) -> None:
    """Open an interactive shell inside RUN (id, id prefix or name), with the run's env and
    VESSL_TUI_RUN_ID set."""
    argv, env = engine().shell_command(run)
    try:
        os.execvpe(argv[0], argv, env)
    except OSError as exc:
        fail(f"could not start {argv[0]}: {exc.strerror}.")
