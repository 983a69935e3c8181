"""The top line of every area: the product name, the areas with the current one marked, and a
short summary on the right (e.g. `3 running`)."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

AREAS = ("runs", "revisions", "clusters", "gpus", "tunnels")


class AreaBar(Static):
    """`vessl-tui  1 runs  2 revisions ...   summary`; the current area is highlighted."""

    DEFAULT_CSS = """
    AreaBar { height: 1; background: $panel; color: $text; }
    """

    summary: reactive[str] = reactive("")
    """Text shown at the right end: parts joined by " · ", the last ones dropped when narrow."""

    def __init__(self, current: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.current = current

    def render(self) -> Text:
        text = Text(" vessl-tui ", style="bold")
        for number, area in enumerate(AREAS, 1):
            style = "reverse bold" if area == self.current else "dim"
            text.append(f" {number} {area} ", style=style)
        room = self.size.width - text.cell_len - 2
        parts = self.summary.split(" · ") if self.summary else []
        while parts and len(" · ".join(parts)) > room:
            parts.pop()
        if parts:
            summary = " · ".join(parts)
            text.append(" " * (room - len(summary) + 1) + summary + " ")
        return text
