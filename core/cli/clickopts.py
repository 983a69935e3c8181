"""click options built from a table of `core.cli.argv.Option`s: the one description of the options
that a command's click-free path (`quick_*`) reads too."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from core.cli.argv import Option


def options(table: tuple[Option, ...]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """click options from a table of `Option`s, in the table's order."""

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        for o in reversed(table):
            if o.metavar is None:
                func = click.option(*o.flags, o.dest, is_flag=True, help=o.help)(func)
            elif o.once:
                func = click.option(*o.flags, o.dest, metavar=o.metavar, help=o.help)(func)
            else:
                func = click.option(*o.flags, o.dest, multiple=True, metavar=o.metavar, help=o.help)(func)
        return func

    return decorate
