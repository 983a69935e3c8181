"""Run status shown as a word with a colour (the word is always there: colour never carries meaning
alone)."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

STATUS_STYLES: dict[str, str] = {
    "pending": "dim",
    "provisioning": "yellow",
    "running": "bold green",
    "stopping": "magenta",
    "succeeded": "green",
    "failed": "bold red",
    "stopped": "magenta",
    "terminated": "red",
    "lost": "bold red reverse",
}


def status_text(status: str) -> Text:
    """`status` as a styled Text for tables and headers."""
    return Text(status, style=STATUS_STYLES.get(status, ""))


class StatusBadge(Static):
    """A run's status word; the widget gets the class `-<status>` for styling in .tcss."""

    DEFAULT_CSS = """
    StatusBadge { width: auto; padding: 0 1; }
    """

    def __init__(self, status: str = "pending", *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(status_text(status), id=id, classes=classes)
        self.status = status

    def set_status(self, status: str) -> None:
        self.remove_class(f"-{self.status}")
        self.status = status
        self.add_class(f"-{status}")
        self.update(status_text(status))
