"""The spec editor's problems list: one row per problem, `line:col path: message`; Enter jumps."""

from __future__ import annotations

from rich.text import Text
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from core.spec.errors import Problem


def problem_text(problem: Problem) -> Text:
    """`9:5 ports[1]: message`, errors in red, warnings in yellow (the word is there too)."""
    where = f"{problem.path}: " if problem.path else ""
    style = "bold red" if problem.severity == "error" else "yellow"
    text = Text()
    text.append(f"{problem.line}:{problem.column} ", style="bold")
    text.append(f"{problem.severity}: ", style=style)
    text.append(f"{where}{problem.message}")
    return text


class ProblemsList(OptionList):
    """Problems of the edited spec, in file order. Enter (or a click) on one posts `Jump`."""

    DEFAULT_CSS = """
    ProblemsList { height: 1fr; }
    """

    class Jump(Message):
        """Move the editor's cursor to this 1-based line and column."""

        def __init__(self, line: int, column: int) -> None:
            super().__init__()
            self.line = line
            self.column = column

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.problems: list[Problem] = []

    def show(self, problems: list[Problem]) -> None:
        """Replace the list (keeps the highlighted row where it can)."""
        highlighted = self.highlighted
        self.problems = sorted(problems, key=lambda p: (p.line, p.column))
        self.clear_options()
        if not self.problems:
            self.add_option(Option(Text("No problems.", style="green"), disabled=True))
            return
        self.add_options([Option(problem_text(p)) for p in self.problems])
        self.highlighted = 0 if highlighted is None else min(highlighted, len(self.problems) - 1)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if 0 <= event.option_index < len(self.problems):
            problem = self.problems[event.option_index]
            self.post_message(self.Jump(problem.line, problem.column))
