"""Revisions: serve revisions of services (placeholder until serve revisions are listed here)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer, Static


class RevisionsScreen(Screen):
    """Lists serve revisions. Shows that there are none until revisions exist."""

    def compose(self) -> ComposeResult:
        yield Static("No revisions yet.", id="revisions-empty")
        yield Footer()
