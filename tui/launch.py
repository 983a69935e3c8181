"""The `vessl-tui` console script: no arguments opens the workstation; anything else is a headless
command of `core.cli`. This module imports neither textual nor click, so headless commands start as
fast as `core.cli` alone, and `core` never needs to know the TUI exists."""

from __future__ import annotations

import sys


def main() -> None:
    if len(sys.argv) == 1:
        from tui.app import run_app

        run_app()
    else:
        from core.cli.main import main as cli_main

        cli_main()


if __name__ == "__main__":
    main()
