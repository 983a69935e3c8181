"""Writing a file the user named, after asking what would otherwise happen silently: a missing
folder is created only after a yes, an existing file is replaced only after a yes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from textual.screen import Screen

from tui.screens.modals import ConfirmModal

Writer = Callable[[Path, bool], None]
"""`write(path, create_folder)`: called on the event loop; starts the write (in a worker)."""


def write_after_asking(screen: Screen, path: Path, write: Writer, *, own_root: Path | None = None,
                       default_name: str | None = None) -> None:
    """Check `path` in a worker, ask on the event loop, then `write(target, create_folder)`.
    A folder given as `path` gets `default_name` in it; folders under `own_root` (the app's own
    home) are created without asking."""
    app = screen.app

    def check() -> None:
        target = path / default_name if default_name and path.is_dir() else path
        if target.is_dir():
            app.call_from_thread(app.notify, f"{target} is a folder; give a file name.", severity="error")
            return
        app.call_from_thread(ask, target, not target.parent.exists(), target.exists())

    def ask(target: Path, missing: bool, exists: bool) -> None:
        own = own_root is not None and target.is_relative_to(own_root)
        if missing and not own:
            def create(yes: bool | None) -> None:
                if yes:
                    write(target, True)

            app.push_screen(ConfirmModal(f"Create the folder {target.parent}?",
                                         f"It does not exist; {target.name} would be written in it."), create)
        elif exists:
            def replace(yes: bool | None) -> None:
                if yes:
                    write(target, False)

            app.push_screen(ConfirmModal(f"Replace {target}?", "The file exists."), replace)
        else:
            write(target, missing)

    screen.run_worker(check, thread=True, group="save-check", exit_on_error=False)
