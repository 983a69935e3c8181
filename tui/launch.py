"""The `vessl-tui` console script: no arguments opens the workstation, `vessl-tui edit FILE` opens it
in the spec editor on FILE, `vessl-tui keys [--check]` lists the key bindings (and the problems of
the config's `keys:`); anything else is a headless command of `core.cli`. This module imports neither textual nor click, so headless commands start as
fast as `core.cli` alone, and `core` never needs to know the TUI exists."""

from __future__ import annotations

import sys


EDIT_USAGE = "usage: vessl-tui edit FILE  (opens the workstation in the spec editor on FILE; a new file when it does not exist)"


def main() -> None:
    if len(sys.argv) == 1:
        from tui.app import run_app

        run_app()
    elif sys.argv[1] == "edit":
        args = sys.argv[2:]
        if args in (["-h"], ["--help"]):
            print(EDIT_USAGE)
            return
        if len(args) != 1 or args[0].startswith("-"):
            sys.stderr.write(f"error: give one spec file.\n{EDIT_USAGE}\n")
            sys.exit(2)
        from tui.app import run_app

        run_app(edit=args[0])
    elif sys.argv[1] == "keys":
        from tui.keycheck import keys_command

        sys.exit(keys_command(sys.argv[2:]))
    else:
        from core.cli.main import main as cli_main

        cli_main()


if __name__ == "__main__":
    main()
