"""The errors a user can act on, at the bottom of the engine: this module imports nothing of ours,
so any module can raise them without importing the engine or a backend (no import circles).
Each carries one sentence: what happened, what to do. Spec problems are `core.spec.errors.SpecError`;
config problems `core.config.ConfigError` (an EngineError with positions)."""


class EngineError(ValueError):
    """A failure the user can act on: unknown run, unknown cluster, nothing fits, … One sentence."""


class BackendError(Exception):
    """A failure of a cluster the user can act on; `str(err)` is one sentence: what happened, what to do."""
