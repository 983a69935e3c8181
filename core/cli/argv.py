"""Reading a command's argv without click: the plain forms of a few hot commands (`ps`, `run`,
`validate`) run without importing it (`core.cli.main.QUICK`); anything else is left to click, which
explains usage errors. `Option` tables are the one description of those options: the click commands
are built from them too (`core.cli.clickopts`)."""

from __future__ import annotations

from core.records import Record


class Option(Record):
    flags: tuple[str, ...]
    dest: str
    help: str
    metavar: str | None = None  # None: a flag; else an option with a value
    once: bool = False  # an option with a value taken once (given again, the last wins, as in click)


def parse(argv: list[str], options: tuple[Option, ...], arguments: int = 0, more: bool = False
          ) -> dict[str, object] | None:
    """The parameters `argv` gives (its plain words under "args": exactly `arguments` of them, or at
    least that many with `more`), or None when it holds anything else (help, a typo, clustered short
    flags, a missing value, `-` or `--`: click then explains)."""
    by_flag = {flag: option for option in options for flag in option.flags}
    values: dict[str, object] = {o.dest: (False if o.metavar is None else None if o.once else ()) for o in options}
    words: list[str] = []
    args = iter(argv)
    for arg in args:
        if not arg.startswith("-") and (arguments or more):
            words.append(arg)
            continue
        name, has_value, value = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        option = by_flag.get(name)
        if option is None or (option.metavar is None and has_value):
            return None
        if option.metavar is None:
            values[option.dest] = True
            continue
        if not has_value:
            value = next(args, None)
            if value is None:
                return None
        values[option.dest] = value if option.once else (*values[option.dest], value)  # type: ignore[misc]
    if len(words) < arguments or (len(words) > arguments and not more):
        return None
    if arguments or more:
        values["args"] = words
    return values
