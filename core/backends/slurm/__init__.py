"""Slurm clusters: batch scripts (script), client output parsing (parse), where commands run
(shell), per-rank log merging (ranklog), and the backend itself (backend)."""

from core.backends.slurm.backend import SlurmBackend

__all__ = ["SlurmBackend"]
