"""What the headless commands tell the user, without click: `put` their output on stdout, `say` a
line on stderr, `fail` with one `error:` sentence (exit 1), and `user_errors`, which turns every
error a user can act on into that."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable

from core.diskspace import no_space, no_space_sentence
from core.errors import EngineError
from core.paths import home_path

TYPE_CHECKING = False  # typing stays out of the click-free commands
if TYPE_CHECKING:
    from typing import Any


def put(text: str) -> None:
    """`text` on stdout, at once; when the reader went away (`vessl-tui ps | head`) the command ends
    quietly with exit 1, like click."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        sys.stdout = open(os.devnull, "w")
        sys.exit(1)


def say(text: str) -> None:
    """One line on stderr, at once."""
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def fail(message: str) -> None:
    say(f"error: {message}")
    sys.exit(1)


def user_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn the errors a user can act on into one `error:` line and exit code 1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except Exception as exc:
            if isinstance(exc, EngineError) or _is_a(exc, "core.backends.base", "BackendError"):
                fail(str(exc))
            if no_space(exc):
                fail(no_space_sentence(home_path()))
            if _is_a(exc, "core.spec.errors", "SpecError"):
                for problem in exc.problems:  # type: ignore[attr-defined]
                    say(problem.format())
                sys.exit(1)
            raise

    return wrapper


def _is_a(exc: Exception, module: str, name: str) -> bool:
    """isinstance without importing `module` (not imported yet: the error cannot come from it)."""
    loaded = sys.modules.get(module)
    return loaded is not None and isinstance(exc, getattr(loaded, name))
