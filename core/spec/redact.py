"""Secrets out of a spec's source text, whatever YAML style wrote them.

    blank_secrets(text, secrets) -> str     secrets: (env name or "registry_auth.password", value)

Each scalar node of the YAML whose value is a secret is replaced from its start mark to its end mark
by `'********'`: a block scalar (`|`, `>`), a double-quoted value with escapes, a single-quoted one
with `''`, or a plain one alike. A scalar that only contains a secret (a command that echoes it) is
written back double-quoted with the secret replaced. Replacements keep the node's line breaks, so
every other line stays where it was and the text stays valid YAML. Secrets shorter than 4
characters are blanked only where they are declared (`env.NAME.value`, `registry_auth.password`);
longer ones everywhere, comments included.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence

PLACEHOLDER = "********"
QUOTED_PLACEHOLDER = f"'{PLACEHOLDER}'"
#: Shorter values are blanked only where declared (they would collide with ordinary text).
MIN_LENGTH = 4


def _scalars(node, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], object]]:
    """(path of keys, node) of every scalar value node under `node` (keys themselves are skipped)."""
    import yaml

    if isinstance(node, yaml.ScalarNode):
        yield path, node
    elif isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            yield from _scalars(value, (*path, str(getattr(key, "value", ""))))
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _scalars(item, (*path, "[]"))


def _declared(path: tuple[str, ...], name: str) -> bool:
    if name == "registry_auth.password":
        return path[-2:] == ("registry_auth", "password")
    return len(path) >= 3 and path[-3:] == ("env", name, "value")


def blank_secrets(text: str, secrets: Sequence[tuple[str, str]]) -> str:
    """`text` with every secret's value replaced (see the module's docstring)."""
    secrets = [(name, value) for name, value in secrets if value]
    if not secrets:
        return text
    edits: list[tuple[int, int, str]] = []
    try:
        import yaml

        for root in yaml.compose_all(text, Loader=yaml.SafeLoader):
            for path, node in _scalars(root):
                replacement = _replacement(path, node.value, secrets)
                if replacement is not None:
                    start, end = node.start_mark.index, node.end_mark.index
                    edits.append((start, end, replacement + "\n" * text.count("\n", start, end)))
    except Exception:  # noqa: BLE001 - text that does not parse is still scrubbed literally below
        edits = []
    for start, end, replacement in sorted(edits, reverse=True):
        text = text[:start] + replacement + text[end:]
    for _, value in secrets:
        for piece in sorted({value, *value.splitlines()}, key=len, reverse=True):
            if len(piece.strip()) >= MIN_LENGTH:
                text = text.replace(piece, PLACEHOLDER)
    return text


def _replacement(path: tuple[str, ...], value: str, secrets: Sequence[tuple[str, str]]) -> str | None:
    """What the scalar node `value` at `path` becomes, or None when it holds no secret."""
    masked = value
    for name, secret in secrets:
        if value == secret and (len(secret) >= MIN_LENGTH or _declared(path, name)):
            return QUOTED_PLACEHOLDER
        if len(secret) >= MIN_LENGTH:
            masked = masked.replace(secret, PLACEHOLDER)
    return json.dumps(masked) if masked != value else None
