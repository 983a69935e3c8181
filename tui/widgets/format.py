"""Short human formats for the tables (ages, durations, sizes): the CLI's own, from `core.humanize`."""

from core.humanize import age, run_duration, short_duration, size

__all__ = ["age", "run_duration", "short_duration", "size"]
