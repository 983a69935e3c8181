"""Short human formats shared by the CLI and the TUI: ages, durations, sizes. Pure functions."""

from __future__ import annotations


def short_duration(seconds: float | None) -> str:
    """`3s`, `12m`, `5h`, `3d` (the largest unit, truncated); `-` when unknown."""
    if seconds is None:
        return "-"
    seconds = max(0, int(seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def age(created_at: float | None, now: float) -> str:
    """How long ago `created_at` was, as `short_duration`."""
    return "-" if not created_at else short_duration(now - created_at)


def run_duration(started_at: float | None, ended_at: float | None, now: float) -> str:
    """A run's running time: start to end, or start to now while it runs."""
    if started_at is None:
        return "-"
    return short_duration((ended_at or now) - started_at)


def size(num_bytes: float | None) -> str:
    """`512B`, `1.5K`, `30M`, `2.0G`."""
    if num_bytes is None:
        return "-"
    value = float(num_bytes)
    for unit in ("B", "K", "M", "G", "T"):
        if value < 1024 or unit == "T":
            return f"{value:.0f}{unit}" if unit == "B" or value >= 10 else f"{value:.1f}{unit}"
        value /= 1024
    return f"{value:.1f}T"


def exit_reason(exit_code: int | None, reason: str | None, final: bool = True) -> str:
    """A final run's end as a reader wants it: `143 stopped by request`, `137 OOMKilled`, `0`,
    or the reason alone when there is no code; empty while the run is not final."""
    if not final:
        return ""
    if exit_code is None:
        return reason or ""
    return f"{exit_code} {reason}" if reason and exit_code != 0 else str(exit_code)


_CONTROL = {c: f"\\x{c:02x}" for c in (*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0)) if c != 0x0A}


def printable(text: str) -> str:
    """`text` safe for a terminal: control characters (ESC and every other C0/C1 code but the line
    break, DEL) shown as `\\xNN`, so a spec's names and values can never drive the terminal."""
    return text.translate(_CONTROL)
