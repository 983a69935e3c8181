"""`vessl-tui shell RUN`: an interactive shell inside a running run, on the user's terminal.

Works for any backend with the `ShellAccess` capability (Docker: `docker exec -it … sh|bash`).
The command replaces this process with the backend's shell program, so the shell owns the terminal
and its exit code becomes the command's.
"""

from __future__ import annotations

import os

import click

from core.cli.run_cmds import engine, fail, user_errors


def shell_argv(ref: str) -> list[str]:
    """argv of the program that opens a shell in run `ref`; EngineError/BackendError otherwise."""
    from core.backends.base import ShellAccess

    eng = engine()
    record = eng.get(ref)
    if record.final:
        fail(f"run {record.id} has ended ({record.status}): a shell needs a running run.")
    backend = eng.backend(record.cluster)
    if not isinstance(backend, ShellAccess):
        fail(f"run {record.id} runs on cluster {record.cluster} ({backend.kind}), which offers no shell.")
    if not record.handle:
        fail(f"run {record.id} has not started yet: try again when it is running.")
    return backend.shell_argv(eng.run_context(record.id), record.handle)


@click.command(name="shell")
@click.argument("run")
@user_errors
def shell(run: str) -> None:
    """Open an interactive shell inside RUN (id, id prefix or name)."""
    argv = shell_argv(run)
    try:
        os.execvp(argv[0], argv)
    except OSError as exc:
        fail(f"could not start {argv[0]}: {exc.strerror}.")
