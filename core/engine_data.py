"""What runs leave behind, as the engine shows it: metric series (core.curves) and the registry
of datasets, models and artifacts (core.data.registry)."""

from __future__ import annotations

import time

from core.errors import EngineError
from core.paths import run_dir
from core.records import FINAL_STATUSES

TYPE_CHECKING = False  # typing stays out of `vessl-tui ps`
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any

    from core.curves.series import CurveReader
    from core.data.registry import Entry as RegistryEntry

#: How long a client waits for a final run's metrics to be stored in full (`Engine.curves(settled=True)`).
METRICS_SETTLE_SECONDS = 60.0


class RunDataViews:
    """Engine methods over what runs leave behind: their metrics and the registry of datasets,
    models and artifacts. Mixed into `core.engine.Engine`, whose `home`, `config`, `_row` and
    `_log_path` they use."""

    # --- metrics (the run's own numbers: core.curves) --------------------------------------

    def curves(self, ref: str, max_points: int | None = None, settled: bool = False) -> "CurveReader":
        """A reader of the run's metric series; `poll()` it for what was added since (blocking: file
        reads), `series()` for the bounded series by name. `settled`: for a final run, first wait
        (up to METRICS_SETTLE_SECONDS) until its supervisor stored the last point."""
        from core.curves.series import MAX_POINTS, CurveReader

        row = self._row(ref)
        if settled:
            self._settle_metrics(row)
        return CurveReader(run_dir(row["id"], self.home), max_points or MAX_POINTS)

    def metric_points(self, ref: str) -> Iterator[tuple[str, float, float]]:
        """(metric, step, value) of every point the run reported, in order (the full series; for
        a final run, once its metrics are complete)."""
        from core.curves.series import raw_points

        row = self._row(ref)
        self._settle_metrics(row)
        return raw_points(run_dir(row["id"], self.home))

    def _settle_metrics(self, row: dict[str, Any]) -> None:
        """A final run's supervisor parses what is left of its log after the end: wait for that
        while it lives (bounded); when it died first, store the rest here."""
        if row["status"] not in FINAL_STATUSES:
            return
        from core.curves.files import complete
        from core.supervisor import supervisor_alive

        from core.runwatch import RunWatch

        folder = run_dir(row["id"], self.home)
        deadline = time.monotonic() + METRICS_SETTLE_SECONDS
        with RunWatch(folder) as watch:  # woken by the state file's replacement and the supervisor's exit
            while not complete(folder) and time.monotonic() < deadline:
                if not supervisor_alive(row["id"], row.get("supervisor_pid"), self.home):
                    from core.curves.recorder import settle

                    settle(folder, self._log_path(row["id"], False))  # it died before storing them all
                    return
                watch.wait(min(1.0, deadline - time.monotonic()))

    def last_metrics(self, run_id: str) -> dict[str, float]:
        """The last value of each of the run's metrics (one small file read; {} when none)."""
        from core.curves.files import last_values

        return last_values(run_dir(run_id, self.home))

    # --- the registry of datasets, models and artifacts -------------------------------------

    def registry_entries(self, kind: str | None = None) -> list["RegistryEntry"]:
        """Every stored version (of `kind`: dataset, model, artifact), newest first."""
        return self._registry_call(lambda registry: registry.entries(kind))

    def registry_entry(self, kind: str, ref: str) -> "RegistryEntry":
        """The version `ref` names: `org/name[/N]` (latest without N) or a full registry URI."""
        from core.data.registry import SCHEMES

        uri = ref if "://" in ref else f"{SCHEMES[kind]}://{ref}"
        return self._registry_call(lambda registry: registry.resolve(uri))

    def remove_registry_entry(self, kind: str, ref: str) -> "RegistryEntry":
        """Remove the version `ref` names (see `registry_entry`); returns what was removed."""
        entry = self.registry_entry(kind, ref)
        self._registry_call(lambda registry: registry.remove(entry))
        return entry

    def _registry_call(self, action: Any) -> Any:
        from core.backends.base import BackendError
        from core.data.registry import Registry

        try:
            return action(Registry(self.config.storage, self.home))
        except BackendError as exc:
            raise EngineError(str(exc).rstrip(".") + ".") from None
