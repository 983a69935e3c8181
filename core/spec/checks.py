"""Plain helpers of the spec rules: shapes of YAML values, scalar text, and `FieldError`, which lets
a rule name the field an error belongs to. Imports nothing beyond the standard library, so the
rule modules stay plain functions."""

from __future__ import annotations

from typing import Any


def scalar_text(value: Any) -> Any:
    """YAML scalars as the text a shell would see: true -> "true", 1 -> "1"."""
    if value.__class__ is str:  # nearly always: no further checks
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return value


class FieldError(ValueError):
    """A rule broken by `field` (a dotted path relative to the model that raises it).

    `more` carries further rules broken in the same model, so that a cross-field check reports
    every conflict, each at its own field (see `raise_all`).
    """

    def __init__(self, field: str, message: str, more: tuple["FieldError", ...] = ()):
        super().__init__(message)
        self.field = field
        self.more = more

    def each(self) -> list["FieldError"]:
        """This error and every one carried with it."""
        return [self, *self.more]


def raise_all(errors: list[FieldError]) -> None:
    """Raise every error of `errors` at once (nothing when it is empty)."""
    if errors:
        first = errors[0]
        raise FieldError(first.field, str(first), tuple(errors[1:]))


def shape_of(value: Any) -> str:
    """The shape of a YAML value: str, bool, dict, list, number or null (anything else: str)."""
    if value.__class__ is str:
        return "str"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, dict):
        return "dict"
    if isinstance(value, list):
        return "list"
    if isinstance(value, (int, float)):
        return "number"
    if value is None:
        return "null"
    return "str"


def cut(value: Any) -> str:
    """A value's text as a message quotes it: at most 40 characters."""
    text = str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def quoted(value: Any) -> str:
    """A value as a message shows it: in backticks, cut to 40 characters ("an empty string")."""
    return f"`{cut(value)}`" if value != "" else "an empty string"


SHAPE_NAMES = {"bool": "true/false", "dict": "a mapping", "list": "a list", "number": "a number",
               "str": "a string", "null": "nothing"}
