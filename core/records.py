"""`Record`: what `@dataclass` gives the engine's records (RunRecord, Event, Plan) without importing
`dataclasses`, whose `inspect` import is a third of a cold `vessl-tui ps`.

    class Point(Record):
        x: int
        tags: list[str] = []            # a list or dict default is copied for each instance

    Point(1), Point(x=1, tags=["a"])    # positional or keyword, as a dataclass __init__
    p == Point(1); repr(p)              # field-wise, as a dataclass (and unhashable, like one)
    p.as_dict(); p.__dict__             # the fields in order (as_dict: deep copies, as `asdict`)

Fields are the class's own annotated names, in order; a class attribute of that name is its default.
"""

from __future__ import annotations


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
