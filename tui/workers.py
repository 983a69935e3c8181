"""Worker failures become one-sentence notifications, never a traceback on screen.

Textual posts `Worker.StateChanged` to the widget or screen that ran the worker and does not
bubble it, so screens and widgets mix in `ReportsWorkerErrors`, which hands failed workers to the
App's one handler (`VesslApp.on_worker_state_changed`).
"""

from __future__ import annotations

from textual.worker import Worker, WorkerState


def describe_error(error: BaseException | None) -> str:
    """One sentence for the user: the error's own sentence when it is one we raise for users."""
    from core.backends.base import BackendError
    from core.spec.errors import SpecError

    if error is None:
        return "An operation failed."
    from core.diskspace import no_space, no_space_sentence

    if no_space(error):
        from core.paths import home_path

        sentence = no_space_sentence(home_path())
        return sentence[0].upper() + sentence[1:]
    if isinstance(error, SpecError):
        first = error.problems[0].format() if error.problems else "the spec is invalid"
        more = f" (and {len(error.problems) - 1} more)" if len(error.problems) > 1 else ""
        return f"The spec has problems: {first}{more}."
    if isinstance(error, (ValueError, BackendError)):
        text = str(error).strip().splitlines()
        return text[0] if text else type(error).__name__
    if isinstance(error, FileNotFoundError):
        return f"No such file: {error.filename}."
    if isinstance(error, OSError):
        where = f" ({error.filename})" if error.filename else ""
        return f"{error.strerror or error}{where}."
    return f"Unexpected {type(error).__name__}: {error}"


class ReportsWorkerErrors:
    """Mixin for screens and widgets: their failed workers reach the App's handler."""

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            self.app.on_worker_state_changed(event)  # type: ignore[attr-defined]
