"""A one-line path input whose Tab completes the path from the folder's entries.

| Key | Id | Action |
| --- | --- | --- |
| tab | prompt.complete | Complete the path (the longest common part; a folder gets its `/`) |
"""

from __future__ import annotations

import os

from textual import work
from textual.binding import Binding
from textual.message import Message
from textual.widgets import Input

MAX_CANDIDATES = 200


def complete_path(text: str) -> tuple[str, list[str]]:
    """Complete `text` as a path: the longest common start of the entries of its folder that begin
    with its last part (a lone folder gets a trailing `/`; `~` stays as typed). Returns the new text
    and, when several entries match, their names (folders with `/`), sorted. Blocking: lists a folder."""
    head, _, stem = text.rpartition("/")
    head = head + "/" if _ else ""
    folder = os.path.expanduser(head) if head else "."
    try:
        with os.scandir(folder) as entries:
            names = []
            for entry in entries:
                if entry.name.startswith(stem) and (stem.startswith(".") or not entry.name.startswith(".")):
                    names.append(entry.name + ("/" if entry.is_dir() else ""))
                    if len(names) > MAX_CANDIDATES:
                        break
    except OSError:
        return text, []
    if not names:
        return text, []
    names.sort()
    if len(names) == 1:
        return head + names[0], []
    common = os.path.commonprefix([n.rstrip("/") for n in names])
    return head + max(common, stem, key=len), names


class PathInput(Input):
    """An Input for file paths: Tab completes (listing the folder in a worker)."""

    BINDINGS = [Binding("tab", "complete", "Complete", id="prompt.complete", show=False)]

    class Candidates(Message):
        """Several entries match what was typed: their names (for a line under the input)."""

        def __init__(self, names: list[str]) -> None:
            super().__init__()
            self.names = names

    def action_complete(self) -> None:
        self._complete(self.value)

    @work(thread=True, exclusive=True, group="path-complete", exit_on_error=False)
    def _complete(self, typed: str) -> None:
        completed, names = complete_path(typed)
        self.app.call_from_thread(self._completed, typed, completed, names)

    def _completed(self, typed: str, completed: str, names: list[str]) -> None:
        if self.value != typed:
            return  # the user typed on meanwhile
        self.value = completed
        self.cursor_position = len(completed)
        self.post_message(self.Candidates(names))
