"""LogCursor: Docker's timestamped log frames, resumed after a cut without a line twice or missed."""

from __future__ import annotations

import struct

import pytest

from core.backends.docker_logs import LogCursor, StreamCut, dechunk, timestamp_ns


def frames(*lines: tuple[str, str]) -> bytes:
    out = b""
    for stamp, text in lines:
        payload = f"{stamp} {text}".encode()
        out += struct.pack(">BxxxL", 1, len(payload)) + payload
    return out


LOG = [("2026-12-04T17:50:01.1Z", "a\n"), ("2026-12-04T17:50:01.2Z", "b\n"), ("2026-12-04T17:50:01.2Z", "c\n"),
       ("2026-12-04T17:50:02Z", "d\n")]


def test_a_second_read_from_since_gives_only_what_the_first_did_not():
    cursor = LogCursor()
    assert cursor.since() is None
    first = b"".join(cursor.messages([frames(*LOG[:2])]))  # cut after b, with c at the same time
    since = cursor.since()
    assert since == "1796406601.200000000"
    again = b"".join(cursor.messages([frames(*LOG[1:])]))  # the engine resends from `since` on
    assert first + again == b"a\nb\nc\nd\n"


def test_bytes_already_in_the_file_are_skipped_and_frames_split_across_reads_are_joined():
    data = frames(*LOG)
    cursor = LogCursor(skip=3)
    assert b"".join(cursor.messages([data[:5], data[5:30], data[30:]])) == b"\nc\nd\n"


def test_timestamps_with_and_without_fractions_or_offsets():
    assert timestamp_ns(b"1970-01-01T00:00:01Z") == 1_000_000_000
    assert timestamp_ns(b"1970-01-01T00:00:01.000000002Z") == 1_000_000_002
    assert timestamp_ns(b"1970-01-01T01:00:01.5+01:00") == 1_500_000_000


def test_a_chunked_body_cut_before_its_end_is_a_stream_cut():
    assert list(dechunk([b"3\r\nabc\r\n", b"0\r\n\r\n"])) == [b"abc"]
    with pytest.raises(StreamCut):
        list(dechunk([b"3\r\nabc\r\n"]))


def test_frames_of_one_time_across_reads_are_all_counted():
    cursor = LogCursor()
    assert b"".join(cursor.messages([frames(LOG[0], LOG[1]), frames(LOG[2])])) == b"a\nb\nc\n"
    assert (cursor.last, cursor.at_last) == (b"2026-12-04T17:50:01.2Z", 2)
    cursor.since()
    assert b"".join(cursor.messages([frames(*LOG[1:])])) == b"d\n"
