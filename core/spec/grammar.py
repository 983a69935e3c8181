"""The value grammars of spec files, as plain functions: ranges, memory, CPU, GPU, durations, ports.

Each parser takes what YAML produced (str, int, float, bool, dict) and returns a normalized value,
or raises `ValueError` with one sentence a user can act on. dstack's rules (see its `resources.py`):
memory is MB/GB/TB (a bare number is GB), ranges are `min..max` with either side optional, GPU
strings are `:`-separated tokens in any order (vendor, names, memory, count).

The `*_bounds` and `*_fields` readers return plain data (a range as {min, max}, a GPU as the
fields of `GpuSpec`) and import nothing beyond the standard library. `parse_gpu` wraps `gpu_fields` into a `GpuSpec` for the resource resolver.
"""

from __future__ import annotations

import math
import re
from typing import Any, Callable

from core.spec.checks import cut, quoted


GPU_VENDORS = {
    "nvidia": "nvidia", "amd": "amd", "google": "google", "intel": "intel",
    "tenstorrent": "tenstorrent", "tpu": "google", "tt": "tenstorrent",
}
CPU_ARCHES = ("x86", "arm")

_MEMORY_UNITS = {"tb": 1024.0, "gb": 1.0, "mb": 1.0 / 1024}
_K8S_UNITS = {  # Kubernetes quantities -> GB (GiB-like, 1024-based, as dstack counts)
    "ki": 1 / 1024**2, "mi": 1 / 1024, "gi": 1.0, "ti": 1024.0, "pi": 1024.0**2,
    "k": 1e3 / 1024**3, "m": 1e6 / 1024**3, "g": 1e9 / 1024**3, "t": 1e12 / 1024**3,
}
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*(s|sec|secs|m|min|mins|h|hr|hrs|d|w)?$", re.I)
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _float(value: int | float) -> float:
    """A YAML number as a float; ValueError for an integer too large for one."""
    try:
        return float(value)
    except OverflowError:
        raise ValueError(f"the number {str(value)[:12]}… ({len(str(value))} digits) is too large") from None


def parse_number(text: str, what: str = "number") -> float:
    """A plain decimal number."""
    text = text.strip()
    if not _NUMBER.match(text):
        raise ValueError(f"expected a {what}, got {quoted(text)}")
    return float(text)


def parse_memory(value: Any) -> float:
    """dstack memory: a number (GB) or `512MB` / `16 GB` / `1TB` (case-insensitive) -> GB."""
    if _is_number(value):
        if value < 0:
            raise ValueError(f"memory cannot be negative, got {value}")
        return _float(value)
    if not isinstance(value, str):
        raise ValueError(f"expected a memory size like `16GB`, got {quoted(value)}")
    text = value.replace(" ", "").lower()
    for unit, factor in _MEMORY_UNITS.items():
        if text.endswith(unit):
            return parse_number(text[: -len(unit)], "memory size") * factor
    if _NUMBER.match(text):
        return float(text)
    raise ValueError(f"invalid memory size {quoted(value)}: use MB, GB or TB, e.g. `512MB`, `16GB`")


def parse_quantity(value: Any) -> float:
    """Kubernetes-style memory (`12Gi`, `4G`, `512Mi`, bytes) or dstack-style (`16GB`) -> GB, more than 0."""
    if _is_number(value):
        amount = _float(value) / 1024**3 if value > 1024 else _float(value)
    elif not isinstance(value, str):
        raise ValueError(f"expected a memory size like `16Gi`, got {quoted(value)}")
    else:
        amount = _text_quantity(value)
    if not amount > 0:
        raise ValueError(f"memory must be positive, got {cut(value)}")
    return amount


def _text_quantity(value: str) -> float:
    text = value.replace(" ", "").lower()
    if text.endswith(("gb", "mb", "tb")):
        return parse_memory(text)
    for unit in ("ki", "mi", "gi", "ti", "pi", "k", "m", "g", "t"):
        if text.endswith(unit):
            return parse_number(text[: -len(unit)], "memory size") * _K8S_UNITS[unit]
    if _NUMBER.match(text):
        return float(text) / 1024**3
    raise ValueError(f"invalid memory size {quoted(value)}: use e.g. `512Mi`, `16Gi` or `16GB`")


def parse_cpu_quantity(value: Any, what: str = "cpu") -> float:
    """Kubernetes CPU: `4`, `0.5`, `500m` -> cores, more than 0 (`what` names it in the error)."""
    amount = None
    if _is_number(value):
        amount = _float(value)
    elif isinstance(value, str):
        text = value.strip().lower()
        if text.endswith("m") and _NUMBER.match(text[:-1]):
            amount = float(text[:-1]) / 1000
        elif _NUMBER.match(text):
            amount = float(text)
    if amount is None:
        raise ValueError(f"invalid cpu amount {quoted(value)}: use cores, e.g. `4`, `0.5` or `500m`")
    if not amount > 0:
        raise ValueError(f"{what} must be positive, got {cut(value)}")
    return amount


def parse_gpu_quantity(value: Any) -> float:
    """A VESSL GPU quantity: a number of GPUs, more than 0."""
    return parse_cpu_quantity(value, "the GPU quantity")


def range_bounds(value: Any, item: Callable[[Any], float] = float, what: str = "value") -> dict:
    """What `parse_range` reads, as the mapping {min, max}."""
    if isinstance(value, dict):
        extra = set(value) - {"min", "max"}
        if extra:
            raise ValueError(f"a range takes only `min` and `max`, not `{sorted(extra, key=str)[0]}`")
        lo = None if value.get("min") is None else item(value["min"])
        hi = None if value.get("max") is None else item(value["max"])
    elif isinstance(value, str) and ".." in value:
        text = value.replace(" ", "")
        left, right = text.split("..", 1)
        if right.startswith("."):
            raise ValueError(f"invalid range {quoted(value)}: write it as `min..max` (two dots)")
        if not left and not right:
            raise ValueError(f"invalid empty range {quoted(value)}: give a minimum, a maximum or both")
        lo = item(left) if left else None
        hi = item(right) if right else None
    elif isinstance(value, bool) or value is None or isinstance(value, (list, dict)):
        raise ValueError(f"expected a {what} or a range like `2..8`, got {quoted(value)}")
    else:
        lo = hi = item(value)
    if lo is not None and hi is not None and lo > hi:
        raise ValueError(f"invalid range {quoted(value)}: the minimum is larger than the maximum")
    return {"min": lo, "max": hi}


def _count(value: Any) -> float:
    if _is_number(value):
        if value in (math.inf, -math.inf) or value != value or value != int(value) or value < 0:
            raise ValueError(f"a count must be a whole number >= 0, got {value}")
        return _float(value)
    if isinstance(value, str) and value.strip().isdigit():
        return float(value.strip())
    raise ValueError(f"expected a whole number, got {quoted(value)}")


def count_bounds(value: Any) -> dict:
    """A count or a count range: `2`, `1..4`, `2..` -> {min, max}."""
    return range_bounds(value, _count, "count")


def memory_bounds(value: Any) -> dict:
    """A memory size or range: `16GB`, `16GB..`, `8GB..16GB`, `512..1TB` -> {min, max} in GB."""
    return range_bounds(value, parse_memory, "memory size")








def cpu_fields(value: Any) -> tuple[str | None, dict | None]:
    """dstack CPU: `4`, `2..8`, `x86`, `arm:4`, `{min, max}`, `{arch, count}` -> (arch, {min, max})."""
    if isinstance(value, dict):
        if "arch" in value or "count" in value:
            extra = set(value) - {"arch", "count"}
            if extra:
                raise ValueError(f"with `arch`, put `{sorted(extra, key=str)[0]}` under `count`")
            arch = value.get("arch")
            if arch is not None and str(arch).lower() not in CPU_ARCHES:
                raise ValueError(f"invalid CPU architecture {quoted(arch)}: use x86 or arm")
            count = None if value.get("count") is None else count_bounds(value["count"])
            return (None if arch is None else str(arch).lower()), count
        return None, (count_bounds(value) if value else None)
    if isinstance(value, str) and (":" in value or any(c.isalpha() for c in value)):
        arch = count = None
        for token in value.replace(" ", "").split(":"):
            if not token:
                raise ValueError(f"CPU spec {quoted(value)} has an empty token")
            if token[0].isalpha():
                if token.lower() not in CPU_ARCHES:
                    raise ValueError(f"invalid CPU architecture {quoted(token)}: use x86 or arm")
                if arch is not None:
                    raise ValueError(f"CPU spec {quoted(value)} names two architectures")
                arch = token.lower()
            else:
                if count is not None:
                    raise ValueError(f"CPU spec {quoted(value)} gives two counts")
                count = count_bounds(token)
        return arch, count
    return None, count_bounds(value)


def parse_compute_capability(value: Any) -> tuple[int, int]:
    """`7.5`, `"8.0"` or `[7, 5]` -> (major, minor)."""
    if isinstance(value, (list, tuple)):
        parts = [str(p) for p in value]
    elif _is_number(value):
        parts = f"{_float(value):.1f}".split(".")
    elif isinstance(value, str):
        parts = value.strip().split(".")
    else:
        parts = []
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise ValueError(f"invalid compute capability {quoted(value)}: write it as `major.minor`, e.g. `8.0`")
    return int(parts[0]), int(parts[1])


def parse_gpu(value: Any) -> Any:
    """`gpu_fields` as a `GpuSpec` (a `GpuSpec` is returned as it is)."""
    from core.spec.quantities import GpuSpec

    return value if isinstance(value, GpuSpec) else GpuSpec(**gpu_fields(value))


def gpu_fields(value: Any) -> dict:
    """dstack GPU: tokens in any order (`A100:80GB:2`, `8:H200`, `nvidia:24GB..:1..2`,
    `A10,A10G:2`) or a mapping {vendor, name, count, memory, total_memory, compute_capability}
    -> the fields of `GpuSpec`. A GPU that is given but has no count means 1 or more."""
    if isinstance(value, dict):
        return _gpu_from_mapping(value)
    if _is_number(value):
        return {**_gpu_defaults(), "count": range_bounds(value, _count, "count")}
    if not isinstance(value, str):
        raise ValueError(f"expected a GPU spec like `A100:2` or `24GB`, got {quoted(value)}")
    fields: dict = {}
    for token in value.replace(" ", "").split(":"):
        if not token:
            raise ValueError(f"GPU spec {quoted(value)} has an empty token")
        lowered = token.lower()
        if lowered in GPU_VENDORS:
            key, parsed = "vendor", GPU_VENDORS[lowered]
        elif token[0].isalpha():
            names = token.split(",")
            if not all(names):
                raise ValueError(f"GPU spec {quoted(value)} has an empty name in {quoted(token)}")
            key, parsed = "names", [n[4:] if n.lower().startswith("tpu-") else n for n in names]
        elif any(c.isalpha() for c in token):
            key, parsed = "memory_gb", range_bounds(token, parse_memory, "memory size")
        else:
            key, parsed = "count", range_bounds(token, _count, "count")
        if key in fields:
            what = {"names": "name", "memory_gb": "memory"}.get(key, key)
            raise ValueError(f"GPU spec {quoted(value)} has a {what} conflict: give the {what} once")
        fields[key] = parsed
    fields.setdefault("count", {"min": 1.0, "max": None})
    return {**_gpu_defaults(), **fields}


def _gpu_defaults() -> dict:
    return {"vendor": None, "names": [], "memory_gb": None, "total_memory_gb": None,
            "compute_capability": None, "mig": None}


_GPU_KEYS = {"vendor", "name", "count", "memory", "total_memory", "compute_capability"}


def _gpu_from_mapping(value: dict) -> dict:
    extra = set(value) - _GPU_KEYS
    if extra:
        raise ValueError(f"unknown GPU field `{sorted(extra, key=str)[0]}`; known: {', '.join(sorted(_GPU_KEYS))}")
    fields = _gpu_defaults()
    vendor = value.get("vendor")
    if vendor is not None:
        if str(vendor).lower() not in GPU_VENDORS:
            raise ValueError(f"unknown GPU vendor {quoted(vendor)}: use nvidia, amd, google, intel or tenstorrent")
        fields["vendor"] = GPU_VENDORS[str(vendor).lower()]
    name = value.get("name")
    if name is not None:
        names = [name] if isinstance(name, str) else name
        if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
            raise ValueError(f"GPU name must be a string or a list of strings, got {quoted(name)}")
        fields["names"] = [n[4:] if n.lower().startswith("tpu-") else n for n in names]
    count = value.get("count")
    fields["count"] = {"min": 1.0, "max": None} if count is None else count_bounds(count)
    if value.get("memory") is not None:
        fields["memory_gb"] = memory_bounds(value["memory"])
    if value.get("total_memory") is not None:
        fields["total_memory_gb"] = memory_bounds(value["total_memory"])
    if value.get("compute_capability") is not None:
        fields["compute_capability"] = parse_compute_capability(value["compute_capability"])
    return fields




def disk_bounds(value: Any) -> dict:
    """dstack disk: a size or range (`100GB..`), or `{size: ...}` -> {min, max} in GB."""
    if isinstance(value, dict):
        extra = set(value) - {"size"}
        if extra:
            raise ValueError(f"disk takes only `size`, not `{sorted(extra, key=str)[0]}`")
        if value.get("size") is None:
            raise ValueError("disk needs a `size`, e.g. `size: 100GB..`")
        return memory_bounds(value["size"])
    return memory_bounds(value)


def parse_duration(value: Any, allow_off: bool = True) -> float | None:
    """Seconds from `90`, `30s`, `90m`, `2h`, `1d`, `1w`; `off` / false -> None (no limit)."""
    if value is False or (isinstance(value, str) and value.strip().lower() == "off"):
        if allow_off:
            return None
        raise ValueError("`off` is not allowed here; give a duration like `1h`")
    if _is_number(value):
        if value < 0:
            if value == -1 and allow_off:
                return None
            raise ValueError(f"a duration cannot be negative, got {value}")
        return _float(value)
    if isinstance(value, str):
        match = _DURATION.match(value.strip())
        if match:
            unit = (match.group(2) or "s")[0].lower()
            return float(match.group(1)) * _DURATION_UNITS[unit]
    raise ValueError(f"invalid duration {quoted(value)}: use seconds or a number with s, m, h, d or w, e.g. `2h`")


def parse_strict_duration(value: Any) -> float:
    """`parse_duration` where `off` is not allowed."""
    return parse_duration(value, allow_off=False)  # type: ignore[return-value]


def parse_port_number(value: Any) -> int:
    """A TCP/UDP port, 1..65535."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"expected a port number, got {quoted(value)}")
    if not 1 <= value <= 65535:
        raise ValueError(f"port must be 1..65535, got {cut(value)}")
    return value


def parse_port_mapping(value: Any) -> tuple[int | None, int]:
    """dstack port: `8000`, `"8080:80"` (local:container), `"*:9000"` (any local port),
    `{local_port, container_port}` -> (local, container)."""
    if isinstance(value, dict):
        extra = set(value) - {"local_port", "container_port"}
        if extra:
            raise ValueError(f"a port takes `local_port` and `container_port`, not `{sorted(extra, key=str)[0]}`")
        if value.get("container_port") is None:
            raise ValueError("a port mapping needs `container_port`")
        container = parse_port_number(value["container_port"])
        local = value.get("local_port")
        return (None if local is None else parse_port_number(local)), container
    if isinstance(value, str) and ":" in value:
        local_text, container_text = value.split(":", 1)
        container = parse_port_number(container_text)
        local = None if local_text.strip() == "*" else parse_port_number(local_text)
        return local, container
    port = parse_port_number(value)
    return port, port
