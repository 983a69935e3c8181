"""YAML 1.1 implicit typing of plain scalars, as PyYAML's SafeLoader does it, without PyYAML.

`typed("yes")` is True, `typed("3.10")` is 3.1, `typed("8080")` is 8080, `typed("~")` is None, and
any other text is itself. The rare forms it does not construct (`0x1f`, `0o17`, `1_000`, `1:20`,
`.inf`, `.nan`, `<<`) raise `Unusual`, and the caller reads the text with PyYAML instead.
"""

from __future__ import annotations

import re
from typing import Any

# PyYAML's YAML 1.1 implicit resolvers (yaml/resolver.py), for the first characters they apply to
_FLOAT = re.compile(r"""(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?
                    |\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?
                    |[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*
                    |[-+]?\.(?:inf|Inf|INF)
                    |\.(?:nan|NaN|NAN))\Z""", re.X)
_INT = re.compile(r"""(?:[-+]?0b[0-1_]+
                    |[-+]?0[0-7_]+
                    |[-+]?(?:0|[1-9][0-9_]*)
                    |[-+]?0x[0-9a-fA-F_]+
                    |[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)\Z""", re.X)
_DECIMAL = re.compile(r"[-+]?(?:0|[1-9][0-9]*)\Z")
_WORDS = {
    **dict.fromkeys(("yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"), True),
    **dict.fromkeys(("no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"), False),
    **dict.fromkeys(("~", "null", "Null", "NULL"), None),
}
_NUMERIC_START = frozenset("-+0123456789.")
_typed_cache: dict[str, Any] = {}
MAX_INT_DIGITS = 4000  # below Python's limit on converting text to int (4,300 digits)


class Unusual(ValueError):
    """A plain scalar in a form `typed` does not construct itself (`0x1f`, `1_000`, `1:20`, `.inf`,
    a merge key `<<`)."""


def typed(text: str) -> Any:
    """The value of a non-empty plain scalar, as PyYAML's SafeLoader types it (raises `Unusual`
    for the forms it does not construct itself)."""
    if not text:
        return None
    value = _typed_cache.get(text, _typed_cache)
    if value is not _typed_cache:
        return value
    value = text
    if text in _WORDS:
        value = _WORDS[text]
    elif text[0] in _NUMERIC_START:
        if _FLOAT.match(text):
            if "_" in text or ":" in text or text[-1] in "fFnN":
                raise Unusual
            value = float(text)
        elif _INT.match(text):
            if not _DECIMAL.match(text):
                raise Unusual
            # more digits than Python converts: read as its text, as a malformed scalar is
            value = int(text) if len(text) <= MAX_INT_DIGITS else text
    elif text == "<<":
        raise Unusual  # a merge key
    if len(text) <= 64:
        if len(_typed_cache) >= 4096:
            _typed_cache.clear()
        _typed_cache[text] = value
    return value
