"""Pure logic behind the TUI: the log index, search, display text, YAML paths, filters, formats."""

from __future__ import annotations

import random

import pytest

from core.engine import RunRecord
from tui.screens.editor import template_choices, yaml_path_at
from tui.widgets.runs_table import matches_filter
from core.humanize import age, run_duration, short_duration, size
from tui.widgets.gpu_meter import bar, sparkline
from tui.widgets.log_index import LineFeeder, display_text, search_lines


def _reader(data: bytes):
    def read(offset: int, limit: int) -> tuple[bytes, int]:
        chunk = data[offset : offset + limit]
        return chunk, offset + len(chunk)

    return read


@pytest.mark.parametrize("seed", range(5))
def test_feeder_index_matches_line_starts_whatever_the_chunking(seed: int) -> None:
    rng = random.Random(seed)
    data = b"".join(b"line %d %s\n" % (i, b"x" * rng.randint(0, 30)) for i in range(500)) + "tail é".encode()
    feeder = LineFeeder(stride=8, keep_blocks=3)
    checkpoints, blocks, offset = [0], {}, 0
    while offset < len(data):
        n = rng.randint(1, 200)
        batch = feeder.feed(data[offset : offset + n])
        offset += n
        checkpoints += batch.checkpoints
        blocks.update(batch.blocks)
    starts = [0]
    for line in data.split(b"\n")[:-1]:
        starts.append(starts[-1] + len(line) + 1)
    assert checkpoints == starts[::8]
    assert feeder.line_count == 500
    assert batch.partial == "tail é"
    assert [line.split()[1] for line in blocks[62]] == ["496", "497", "498", "499"]


def test_feeder_decodes_only_the_newest_blocks() -> None:
    feeder = LineFeeder(stride=4, keep_blocks=2)
    batch = feeder.feed(b"".join(b"%d\n" % i for i in range(100)))
    assert sorted(batch.blocks) == [23, 24, 25]
    assert batch.blocks[24] == ["96", "97", "98", "99"]
    assert batch.blocks[25] == []


def test_search_finds_each_matching_line_once_across_reads() -> None:
    data = b"".join(b"step %d loss %s\n" % (i, b"NaN NaN" if i % 250 == 0 else b"1.0") for i in range(3000))
    found = search_lines(_reader(data), "nan", len(data))
    assert list(found) == list(range(0, 3000, 250))


def test_search_limit() -> None:
    data = b"hit\n" * 100
    assert len(search_lines(_reader(data), "HIT", len(data), limit=7)) == 7


@pytest.mark.parametrize(
    ("raw", "shown"),
    [("plain", "plain"), ("10%\r50%\r100%", "100%"), ("crlf\r", "crlf"), ("a\tb", "a       b")],
)
def test_display_text(raw: str, shown: str) -> None:
    assert display_text(raw) == shown


YAML = """name: x
resources:
  cluster: local
  gpu:
    count: 2
run:
  - command: echo
    workdir: /tmp
ports:
- 8000
"""


@pytest.mark.parametrize(
    ("line", "path"),
    [(0, "name"), (1, "resources"), (2, "resources.cluster"), (4, "resources.gpu.count"), (6, "run.command"),
     (7, "run.workdir"), (9, "ports")],
)
def test_yaml_path_at(line: int, path: str) -> None:
    assert yaml_path_at(YAML, line) == path


def test_template_choices_from_a_mapping() -> None:
    assert template_choices({"vessl-run": "name: a\n"}) == [("vessl-run", "vessl-run", "name: a\n")]


def _run(**kw) -> RunRecord:
    base = dict(id="abc123", name="train-llama", status="running", cluster="gpu-box", labels={"service": "echo"})
    return RunRecord(**{**base, **kw})


@pytest.mark.parametrize(
    ("terms", "expected"),
    [([], True), (["llama"], True), (["status:run"], True), (["status:failed"], False), (["cluster:gpu"], True),
     (["label:service=echo"], True), (["label:service=other"], False), (["abc1"], True), (["nope"], False)],
)
def test_filter_terms(terms: list[str], expected: bool) -> None:
    assert matches_filter(_run(), terms) is expected


def test_formats() -> None:
    assert short_duration(3) == "3s"
    assert short_duration(12 * 60 + 5) == "12m"
    assert short_duration(3 * 86400) == "3d"
    assert age(None, 100) == "-"
    assert run_duration(10, None, 70) == "1m"
    assert run_duration(None, None, 70) == "-"
    assert size(512) == "512B"
    assert size(1536) == "1.5K"
    assert bar(0.5, 4) == "██░░"
    assert bar(None, 3) == "···"
    assert sparkline([0, 50, 100, None]) == "▁▅█ "


def test_batches_merged_equal_one_batch_of_the_same_bytes() -> None:
    data = b"".join(b"line %d\n" % i for i in range(1000)) + b"part"
    whole = LineFeeder(stride=8, keep_blocks=3).feed(data)
    feeder = LineFeeder(stride=8, keep_blocks=3)
    merged = feeder.feed(data[:3001]).merged(feeder.feed(data[3001:6002])).merged(feeder.feed(data[6002:]))
    assert merged.checkpoints == whole.checkpoints
    assert (merged.line_count, merged.size, merged.partial, merged.complete) == (1000, len(data), "part", len(data) - 4)
    assert all(merged.blocks[b] == lines for b, lines in whole.blocks.items())
