"""The value grammars, table-driven: dstack's own test cases (DSTACK-RESOURCES.md A2, A5, A6) and ours."""

from __future__ import annotations

import math

import pytest

from core.spec import grammar

INF = math.inf


def rng(r: dict) -> tuple:
    """A range {min, max} as (min, max) with None read as -inf / +inf."""
    return (-INF if r["min"] is None else r["min"], INF if r["max"] is None else r["max"])


@pytest.mark.parametrize("text, gb", [
    ("512MB", 0.5), ("16 Gb", 16.0), ("1 TB ", 1024.0), (1.5, 1.5), (1, 1.0), ("300Gb", 300.0), ("8GB", 8.0),
    ("64", 64.0),
])
def test_memory(text, gb):
    assert grammar.parse_memory(text) == gb


@pytest.mark.parametrize("text", ["1.5xb", "1Gi", "GiB", "16G", "", "lots", [1]])
def test_memory_errors(text):
    with pytest.raises(ValueError):
        grammar.parse_memory(text)


@pytest.mark.parametrize("text, expected", [
    (1, (1, 1)), ("1", (1, 1)), ("1..", (1, INF)), ("..1", (-INF, 1)), ({"min": 1, "max": 3}, (1, 3)),
    ("2..8", (2, 8)), ("0..4", (0, 4)),
])
def test_count_range(text, expected):
    assert rng(grammar.count_bounds(text)) == expected


@pytest.mark.parametrize("text, fragment", [
    ("..", "empty range"), ("1...3", "two dots"), ("3..1", "minimum is larger"), ({"min": 1, "low": 2}, "low"),
    ("x..2", "whole number"), (True, "count"),
])
def test_count_range_errors(text, fragment):
    with pytest.raises(ValueError, match=fragment):
        grammar.count_bounds(text)


@pytest.mark.parametrize("text, expected", [
    ("512MB", (0.5, 0.5)), ("512MB..", (0.5, INF)), ("..1 TB", (-INF, 1024)), ("512..1 TB", (512, 1024)),
    ({"min": "512MB", "max": "1TB"}, (0.5, 1024)), ("16GB..", (16, INF)), ("8GB..16GB", (8, 16)),
    ("24GB", (24, 24)), ("64", (64, 64)),
])
def test_memory_range(text, expected):
    assert rng(grammar.memory_bounds(text)) == expected


def test_memory_range_three_dots_is_an_error():
    with pytest.raises(ValueError):
        grammar.memory_bounds("...")


@pytest.mark.parametrize("value, arch, count", [
    (1, None, (1, 1)), ("1..2", None, (1, 2)), ("X86", "x86", None), ("x86:2", "x86", (2, 2)),
    ("2..:ARM", "arm", (2, INF)), ({"min": 1, "max": 2}, None, (1, 2)), ({"min": 1}, None, (1, INF)),
    ({"max": 2}, None, (-INF, 2)), ({}, None, None), ({"arch": "ARM", "count": {"min": 1, "max": 2}}, "arm", (1, 2)),
    ({"count": {"max": 2}}, None, (-INF, 2)), ("8..", None, (8, INF)), ("0..8", None, (0, 8)),
])
def test_cpu(value, arch, count):
    got_arch, got_count = grammar.cpu_fields(value)
    assert got_arch == arch
    assert (None if got_count is None else rng(got_count)) == count


@pytest.mark.parametrize("value, fragment", [
    ("arm:", "empty token"), ("2:foo", "architecture"), ("arm:x86", "two architectures"),
    ("2:arm:2", "two counts"), ({"arch": "x86", "min": 1, "max": 2}, "under `count`"),
])
def test_cpu_errors(value, fragment):
    with pytest.raises(ValueError, match=fragment):
        grammar.cpu_fields(value)


def gpu(value) -> dict:
    g = grammar.gpu_fields(value)
    assert grammar.parse_gpu(value).model_dump() == g  # the resolver's form holds the same
    out = {"count": rng(g["count"])}
    if g["vendor"]:
        out["vendor"] = g["vendor"]
    if g["names"]:
        out["names"] = g["names"]
    if g["memory_gb"] is not None:
        out["memory"] = rng(g["memory_gb"])
    if g["total_memory_gb"] is not None:
        out["total"] = rng(g["total_memory_gb"])
    if g["compute_capability"] is not None:
        out["cc"] = g["compute_capability"]
    return out


ANY = (1, INF)
GPU_CASES = [
    # A2: dstack's test_resources.py
    ("1", {"count": (1, 1)}),
    ("Nvidia", {"count": ANY, "vendor": "nvidia"}),
    ("google:v3-64", {"count": ANY, "vendor": "google", "names": ["v3-64"]}),
    ("tpu:v5p-1024", {"count": ANY, "vendor": "google", "names": ["v5p-1024"]}),
    ("v5litepod-64:TPU", {"count": ANY, "vendor": "google", "names": ["v5litepod-64"]}),
    ("MI300X:AMD", {"count": ANY, "vendor": "amd", "names": ["MI300X"]}),
    ({"vendor": None}, {"count": ANY}),
    ({"vendor": "NVIDIA"}, {"count": ANY, "vendor": "nvidia"}),
    ({"vendor": "TPU"}, {"count": ANY, "vendor": "google"}),
    ("A100", {"count": ANY, "names": ["A100"]}),
    ("tpu-v3-2048", {"count": ANY, "names": ["v3-2048"]}),
    ("16GB", {"count": ANY, "memory": (16, 16)}),
    ("A10,A10G:2", {"count": (2, 2), "names": ["A10", "A10G"]}),
    ("16GB..32", {"count": ANY, "memory": (16, 32)}),
    # A5: evaluated with dstack 0.22.5
    ("0", {"count": (0, 0)}),
    ("24GB..", {"count": ANY, "memory": (24, INF)}),
    ("A100:80GB:2", {"count": (2, 2), "names": ["A100"], "memory": (80, 80)}),
    ("A100:80GB", {"count": ANY, "names": ["A100"], "memory": (80, 80)}),
    ("80GB:8", {"count": (8, 8), "memory": (80, 80)}),
    ("8:H200", {"count": (8, 8), "names": ["H200"]}),
    ("1..4", {"count": (1, 4)}),
    ("A100:1..4", {"count": (1, 4), "names": ["A100"]}),
    ("24GB..80GB:2..", {"count": (2, INF), "memory": (24, 80)}),
    ("A10G,A100:24GB..:1..2", {"count": (1, 2), "names": ["A10G", "A100"], "memory": (24, INF)}),
    ("nvidia:24GB..", {"count": ANY, "vendor": "nvidia", "memory": (24, INF)}),
    ("amd:MI300X:8", {"count": (8, 8), "vendor": "amd", "names": ["MI300X"]}),
    ("gaudi2:8", {"count": (8, 8), "names": ["gaudi2"]}),
    ("tt:n300", {"count": ANY, "vendor": "tenstorrent", "names": ["n300"]}),
    ("intel", {"count": ANY, "vendor": "intel"}),
    ("tpu-v5litepod-8", {"count": ANY, "names": ["v5litepod-8"]}),
    ({"total_memory": "160GB..", "count": "2.."}, {"count": (2, INF), "total": (160, INF)}),
    ({"compute_capability": 7.5}, {"count": ANY, "cc": (7, 5)}),
    # A6: values seen in real files
    ({"count": "1..", "memory": "24GB.."}, {"count": ANY, "memory": (24, INF)}),
    (1, {"count": (1, 1)}),
    ("nvidia:8:80GB", {"count": (8, 8), "vendor": "nvidia", "memory": (80, 80)}),
    ("RTX 4090", {"count": ANY, "names": ["RTX4090"]}),
    ("8..80GB", {"count": ANY, "memory": (8, 80)}),
    ("24GB..:1..", {"count": ANY, "memory": (24, INF)}),
    ({"count": "1..8", "name": ["H100", "H200"]}, {"count": (1, 8), "names": ["H100", "H200"]}),
    ({"count": 2, "memory": "40GB", "name": "A6000"}, {"count": (2, 2), "names": ["A6000"], "memory": (40, 40)}),
]


@pytest.mark.parametrize("value, expected", GPU_CASES, ids=[str(c[0]) for c in GPU_CASES])
def test_gpu(value, expected):
    assert gpu(value) == expected


@pytest.mark.parametrize("value, fragment", [
    ("A100,:2", "empty name"), ("A100:", "empty token"), ("Nvidia:A100:2:AMD", "vendor conflict"),
    ("A100:2:3", "count conflict"), ("A100:H100", "name conflict"), ({"vendor": "acme"}, "vendor"),
    ({"count": 2, "mem": "8GB"}, "unknown GPU field `mem`"), ([1], "GPU spec"),
])
def test_gpu_errors(value, fragment):
    with pytest.raises(ValueError, match=fragment):
        grammar.parse_gpu(value)


@pytest.mark.parametrize("value, expected", [("3.5", (3, 5)), (8.0, (8, 0)), ((7, 5), (7, 5)), ("7.5", (7, 5))])
def test_compute_capability(value, expected):
    assert grammar.parse_compute_capability(value) == expected


@pytest.mark.parametrize("value", ["3.5.1", "3.x", None])
def test_compute_capability_errors(value):
    with pytest.raises(ValueError):
        grammar.parse_compute_capability(value)


@pytest.mark.parametrize("value, expected", [
    ("100GB", (100, 100)), ("100GB..", (100, INF)), ("300Gb", (300, 300)), ({"size": "50GB"}, (50, 50)),
    ("200GB..1TB", (200, 1024)), (100, (100, 100)), ("1TB", (1024, 1024)),
])
def test_disk(value, expected):
    assert rng(grammar.disk_bounds(value)) == expected


@pytest.mark.parametrize("value, seconds", [
    ("2h", 7200), ("1d", 86400), ("90m", 5400), (3600, 3600), ("off", None), (False, None), ("5m", 300),
    ("30s", 30), ("10", 10), ("1w", 604800), ("1.5h", 5400), (-1, None),
])
def test_duration(value, seconds):
    assert grammar.parse_duration(value) == seconds


@pytest.mark.parametrize("value", ["2 hours", "h", "", "-5m", True, [1], -2])
def test_duration_errors(value):
    with pytest.raises(ValueError):
        grammar.parse_duration(value)


def test_duration_off_refused_where_a_limit_is_required():
    with pytest.raises(ValueError, match="`off` is not allowed"):
        grammar.parse_duration("off", allow_off=False)


@pytest.mark.parametrize("value, expected", [
    (8000, (8000, 8000)), ("8080:80", (8080, 80)), ("*:9000", (None, 9000)),
    ({"local_port": 1, "container_port": 2}, (1, 2)), ({"container_port": 22}, (None, 22)), ("443", (443, 443)),
])
def test_port_mapping(value, expected):
    assert grammar.parse_port_mapping(value) == expected


@pytest.mark.parametrize("value, fragment", [
    (70000, "1..65535"), (0, "1..65535"), ("x:80", "port number"), ({"local_port": 1}, "container_port"),
    (True, "port number"),
])
def test_port_mapping_errors(value, fragment):
    with pytest.raises(ValueError, match=fragment):
        grammar.parse_port_mapping(value)


@pytest.mark.parametrize("value, gb", [
    ("12Gi", 12.0), ("512Mi", 0.5), ("1Ti", 1024.0), ("16GB", 16.0), (4, 4.0), (2 * 1024**3, 2.0),
])
def test_kubernetes_memory(value, gb):
    assert grammar.parse_quantity(value) == pytest.approx(gb)


@pytest.mark.parametrize("value, cores", [(4, 4.0), ("500m", 0.5), ("0.5", 0.5), ("16", 16.0)])
def test_kubernetes_cpu(value, cores):
    assert grammar.parse_cpu_quantity(value) == cores


@pytest.mark.parametrize("value", ["lots", "4 cores", 0, -1])
def test_kubernetes_cpu_errors(value):
    with pytest.raises(ValueError):
        grammar.parse_cpu_quantity(value)
