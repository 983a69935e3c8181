"""The `keys:` section of the config file, read without validating the rest.

The TUI applies it at start; reading it this way costs a YAML parse, not the config's validation
models (pydantic), so a user's keymap does not slow the first frame. `load_config()` still checks
the whole file, `keys:` included, and reports its problems compiler-style.
"""

from __future__ import annotations

from pathlib import Path

from core.paths import config_path


def read_keys(path: Path | None = None) -> dict[str, str]:
    """Binding id -> key(s) from `keys:`; empty when the file, the section or a readable YAML mapping
    is missing (entries that are not strings are left to `load_config` to report)."""
    path = path or config_path()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return {}
    import yaml

    try:
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:
        return {}
    keys = data.get("keys") if isinstance(data, dict) else None
    if not isinstance(keys, dict):
        return {}
    return {str(k): v for k, v in keys.items() if isinstance(v, str)}
