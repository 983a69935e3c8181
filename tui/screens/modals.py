"""Small modal screens that return typed results: confirm, ask for a text, pick one of a list."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from tui.widgets.path_input import PathInput


class ConfirmModal(ModalScreen[bool]):
    """A question answered with y (yes) or n / escape (no).

    | Key | Id | Action |
    | --- | --- | --- |
    | y | confirm.yes | Yes |
    | n, escape | confirm.no | No |
    """

    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm.no"),
    ]

    def __init__(self, question: str, detail: str = "") -> None:
        super().__init__(classes="modal")
        self.question = question
        self.detail = detail

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-box"):
            yield Label(self.question, classes="modal-title")
            if self.detail:
                yield Label(self.detail, classes="modal-detail", markup=False)
            yield Label("y yes   n no", classes="modal-keys")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class PromptModal(ModalScreen[str | None]):
    """Ask for one line of text (a file path, a search). Enter answers, escape cancels (None).
    With `paths=True` the answer is a path and Tab completes it.

    | Key | Id | Action |
    | --- | --- | --- |
    | enter | (input) | Answer |
    | tab | prompt.complete | Complete the path (path prompts) |
    | escape | prompt.cancel | Cancel |
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="prompt.cancel")]

    def __init__(self, question: str, value: str = "", placeholder: str = "", paths: bool = False) -> None:
        super().__init__(classes="modal")
        self.question = question
        self.value = value
        self.placeholder = placeholder
        self.paths = paths

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-box"):
            yield Label(self.question, classes="modal-title")
            kind = PathInput if self.paths else Input
            yield kind(self.value, placeholder=self.placeholder, id="prompt-input")
            yield Label("", id="prompt-candidates", classes="modal-detail hidden", markup=False)
            keys = "enter ok   tab complete   escape cancel" if self.paths else "enter ok   escape cancel"
            yield Label(keys, classes="modal-keys")

    @on(PathInput.Candidates)
    def _candidates(self, event: PathInput.Candidates) -> None:
        label = self.query_one("#prompt-candidates", Label)
        label.update("  ".join(event.names[:40]) + ("  …" if len(event.names) > 40 else ""))
        label.set_class(not event.names, "hidden")

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        self.dismiss(None)


class ChoiceModal(ModalScreen[str | None]):
    """Pick one of several named choices. Enter picks, escape cancels (None).

    | Key | Id | Action |
    | --- | --- | --- |
    | enter | (list) | Pick |
    | escape | choice.cancel | Cancel |
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="choice.cancel")]

    def __init__(self, question: str, choices: list[tuple[str, str]]) -> None:
        """`choices`: (value returned, label shown)."""
        super().__init__(classes="modal")
        self.question = question
        self.choices = choices

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-box"):
            yield Label(self.question, classes="modal-title")
            yield OptionList(*[Option(label, id=value) for value, label in self.choices], id="choice-list")
            yield Label("enter pick   escape cancel", classes="modal-keys")

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
