"""The engine's records (RunRecord, Event, Plan) and run statuses, on `Record`: what `@dataclass`
gives, without importing `dataclasses`, whose `inspect` import is a third of a cold `vessl-tui ps`.

    class Point(Record):
        x: int
        tags: list[str] = []            # a list or dict default is copied for each instance

    Point(1), Point(x=1, tags=["a"])    # positional or keyword, as a dataclass __init__
    p == Point(1); repr(p)              # field-wise, as a dataclass (and unhashable, like one)
    p.as_dict(); p.__dict__             # the fields in order (as_dict: deep copies, as `asdict`)

Fields are the class's own annotated names, in order; a class attribute of that name is its default.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing stays out of `vessl-tui ps`
if TYPE_CHECKING:
    from typing import Any


class Record:
    _fields: tuple[str, ...] = ()
    __hash__ = None  # type: ignore[assignment]

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        cls._fields = tuple(cls.__dict__.get("__annotations__", {}))

    def __init__(self, *args, **kwargs) -> None:
        name = type(self).__name__
        if len(args) > len(self._fields):
            raise TypeError(f"{name}() takes {len(self._fields)} positional arguments but {len(args)} were given")
        values = dict(zip(self._fields, args))
        for key in kwargs:
            if key not in self._fields or key in values:
                raise TypeError(f"{name}() got an unexpected or repeated argument '{key}'")
        values.update(kwargs)
        for field in self._fields:
            if field in values:
                value = values[field]
            elif field in type(self).__dict__:
                value = type(self).__dict__[field]
                if type(value) in (list, dict):
                    value = value.copy()
            else:
                raise TypeError(f"{name}() missing required argument: '{field}'")
            setattr(self, field, value)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return all(getattr(self, f) == getattr(other, f) for f in self._fields)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{f}={getattr(self, f)!r}' for f in self._fields)})"

    def as_dict(self) -> dict:
        """The fields and their values, containers copied (what `dataclasses.asdict` returns)."""
        from copy import deepcopy

        return {f: deepcopy(getattr(self, f)) for f in self._fields}


FINAL_STATUSES = frozenset({"succeeded", "failed", "stopped", "terminated", "lost"})
ACTIVE_STATUSES = frozenset({"pending", "provisioning", "running"})
STATUSES = ("pending", "provisioning", "running", "succeeded", "failed", "stopped", "terminated", "lost")




class RunRecord(Record):
    """A run as stored. Times are UNIX seconds (float) or None; `gpus` is a short summary ("2×A100")."""

    id: str
    name: str
    status: str
    cluster: str
    exit_code: int | None = None
    reason: str | None = None
    created_at: float = 0.0
    started_at: float | None = None
    ended_at: float | None = None
    kind: str | None = None
    gpus: str = "-"
    attempt: int = 1
    ports: list[int] = []
    source_file: str | None = None
    preset: str | None = None
    tags: list[str] = []
    labels: dict[str, str] = {}
    handle: dict[str, Any] | None = None
    supervisor_pid: int | None = None
    heartbeat_at: float | None = None
    stop_requested: bool = False

    @property
    def final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def shown_status(self) -> str:
        """The status as users see it: `stopping` for an active run asked to stop."""
        return "stopping" if self.stop_requested and not self.final else self.status

    def as_json(self) -> dict[str, Any]:
        data = self.as_dict()
        data.pop("handle", None)
        return data


class Event(Record):
    """One line of a run's history: a status change or an attempt, with its reason."""

    run_id: str
    at: float
    kind: str  # "status" | "attempt" | "note" | "export"
    status: str | None = None
    message: str | None = None


class Plan(Record):
    """What `submit` would do, for `run --dry-run` and the editor's plan pane."""

    name: str
    cluster: str
    cluster_kind: str
    preset: str | None
    resources: dict[str, Any]
    image: str | None
    commands: list[str]
    volumes: list[str]
    ports: list[int]
    env: dict[str, str]  # secret values shown as ********
    warnings: list[str] = []
    batch_script: str | None = None  # Slurm clusters: the job's batch script


def record_from_row(row: dict[str, Any]) -> RunRecord:
    record = RunRecord(**{name: row[name] for name in RunRecord._fields if name in row})
    record.stop_requested = bool(record.stop_requested)
    return record
