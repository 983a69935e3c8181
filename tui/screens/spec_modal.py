"""Edit a spec's YAML in a dialog, then hand the validated spec to an action (reproduce a
revision, create one). The dialog stays open, with the text as edited, until the action succeeds:
a spec with problems lists them (at the edited text's lines; enter on one moves the cursor there),
and an action that fails says why; nothing typed is lost.

| Key | Id | Action |
| --- | --- | --- |
| ctrl+s | reproduce.save | Validate and save (as a new revision) |
| f4 | reproduce.problems | Move between the text and the problems list |
| escape | reproduce.cancel | Cancel (asks before dropping changes) |
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, TextArea

from tui.screens.modals import ConfirmModal
from tui.widgets.problems import ProblemsList
from tui.workers import ReportsWorkerErrors, describe_error

SpecAction = Callable[[Any], str]
"""`action(spec) -> message`: blocking (runs in a worker); raises to say why it failed."""


class EditSpecModal(ReportsWorkerErrors, ModalScreen[str | None]):
    """The YAML editor dialog; dismissed with the action's message, or None when cancelled."""

    DEFAULT_CSS = """
    EditSpecModal #reproduce-box { width: 90%; height: 90%; }
    EditSpecModal #reproduce-text { height: 1fr; }
    EditSpecModal #reproduce-problems { height: auto; max-height: 6; border: round $error; }
    """
    BINDINGS = [
        Binding("ctrl+s", "save", "Save", id="reproduce.save"),
        Binding("f4", "problems", "Problems", id="reproduce.problems"),
        Binding("escape", "cancel", "Cancel", id="reproduce.cancel"),
    ]

    def __init__(self, title: str, text: str, file: str, action: SpecAction) -> None:
        super().__init__(classes="modal")
        self.title_text = title
        self.text = text
        self.file = file
        self.spec_action = action

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-box", id="reproduce-box"):
            yield Label(self.title_text, classes="modal-title")
            yield TextArea.code_editor(self.text, language="yaml", id="reproduce-text")
            yield ProblemsList(id="reproduce-problems", classes="hidden")
            yield Label("ctrl+s save   f4 problems   escape cancel", classes="modal-keys")

    @property
    def text_area(self) -> TextArea:
        return self.query_one("#reproduce-text", TextArea)

    def action_save(self) -> None:
        self._save(self.text_area.text)

    @work(thread=True, exclusive=True, group="spec-modal-save", exit_on_error=False)
    def _save(self, text: str) -> None:
        from core.spec import load_text

        documents = load_text(text, file=self.file)
        problems = [p for d in documents for p in d.problems]
        if any(p.severity == "error" for p in problems) or not documents or documents[0].spec is None:
            self.app.call_from_thread(self._show_problems, problems)
            return
        spec = documents[0].spec
        spec.source_file = self.file
        try:
            message = self.spec_action(spec)
        except Exception as exc:  # noqa: BLE001 - said in one sentence; the dialog stays open
            self.app.call_from_thread(self.notify, describe_error(exc), severity="error", timeout=8)
            return
        self.app.call_from_thread(self.dismiss, message)

    def _show_problems(self, problems: list) -> None:
        box = self.query_one(ProblemsList)
        box.show(problems)
        box.border_title = f"Problems ({len(problems)})"
        box.remove_class("hidden")
        errors = [p for p in problems if p.severity == "error"]
        first = errors[0] if errors else None
        where = f" (line {first.line}: {first.message})" if first else ""
        self.notify(f"Not saved: the spec has {len(errors)} error(s){where}.", severity="error")

    @on(ProblemsList.Jump)
    def _jump(self, event: ProblemsList.Jump) -> None:
        self.text_area.cursor_location = (max(0, event.line - 1), max(0, event.column - 1))
        self.text_area.focus()

    def action_problems(self) -> None:
        box = self.query_one(ProblemsList)
        if box.has_class("hidden"):
            return
        (self.text_area if box.has_focus else box).focus()

    def action_cancel(self) -> None:
        if self.text_area.text == self.text:
            self.dismiss(None)
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.dismiss(None)

        self.app.push_screen(ConfirmModal("Drop the edits?", "Nothing was saved."), answered)
