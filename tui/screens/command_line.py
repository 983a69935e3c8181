"""The `:` command line at the bottom of the screen (k9s style): type a command, Tab completes
(command names, run names, file paths), enter runs it, escape closes.

| Key | Id | Action |
| --- | --- | --- |
| tab | command.complete | Complete the word under the cursor |
| escape | command.cancel | Close the command line |
"""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label

from tui.commands import complete_command, help_text
from tui.widgets.path_input import complete_path


class CommandLine(ModalScreen[str | None]):
    """Dismissed with the typed command, or None."""

    DEFAULT_CSS = """
    CommandLine { align: left bottom; background: $background 30%; }
    CommandLine #command-box { height: auto; width: 100%; background: $surface; border-top: solid $accent; }
    CommandLine #command-input { border: none; height: 1; padding: 0 1; }
    CommandLine #command-hint { color: $text-muted; padding: 0 1; height: auto; max-height: 4; }
    """
    BINDINGS = [
        Binding("tab", "complete", "Complete", id="command.complete", priority=True),
        Binding("escape", "cancel", "Cancel", id="command.cancel"),
    ]

    def __init__(self, run_names: list[str]) -> None:
        super().__init__()
        self.run_names = run_names

    def compose(self) -> ComposeResult:
        with Vertical(id="command-box"):
            yield Label(help_text(), id="command-hint", markup=False)
            yield Input(placeholder=":command (tab completes)", id="command-input")

    @property
    def field(self) -> Input:
        return self.query_one("#command-input", Input)

    def action_complete(self) -> None:
        typed = self.field.value
        result = complete_command(typed, self.run_names)
        if result is None:
            self._complete_path(typed)
        else:
            self._completed(typed, *result)

    @work(thread=True, exclusive=True, group="command-complete", exit_on_error=False)
    def _complete_path(self, typed: str) -> None:
        head, _, last = typed.rpartition(" ")
        done, names = complete_path(last)
        self.app.call_from_thread(self._completed, typed, f"{head} {done}", names)

    def _completed(self, typed: str, text: str, candidates: list[str]) -> None:
        if self.field.value != typed:
            return
        self.field.value = text
        self.field.cursor_position = len(text)
        hint = self.query_one("#command-hint", Label)
        hint.update("  ".join(candidates[:30]) + ("  …" if len(candidates) > 30 else "") if candidates else help_text())

    @on(Input.Submitted, "#command-input")
    def _submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        self.dismiss(None)
