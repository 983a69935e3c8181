"""The log pane on its own, over a log file on disk: wrapping and scrollbars."""

from __future__ import annotations

import subprocess
from pathlib import Path

from textual.app import App, ComposeResult

from tests.tui.conftest import until
from tui.widgets.log_view import LogView


def file_reader(path: Path):
    def read(offset: int, limit: int) -> tuple[bytes, int]:
        with open(path, "rb") as log:
            log.seek(offset)
            data = log.read(limit)
        return data, offset + len(data)

    return read


class OneLog(App):
    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path

    def compose(self) -> ComposeResult:
        yield LogView(reader=file_reader(self.path), is_final=lambda: True)

    def on_mount(self) -> None:
        self.query_one(LogView).start()


def screen_text(app: App) -> str:
    return "\n".join("".join(segment.text for segment in strip) for strip in app.screen._compositor.render_strips())


async def test_wrapped_lines_fit_beside_the_scrollbar_with_every_character_shown(tmp_path: Path) -> None:
    path = tmp_path / "output.log"
    path.write_bytes(b"".join(b"%03d:" % i + b"x" * 150 + b":END\n" for i in range(100)))
    app = OneLog(path)
    async with app.run_test(size=(80, 24)) as pilot:
        log = app.query_one(LogView)
        await until(pilot, lambda: log.ended and log.line_count == 100)
        await pilot.press("w")
        await pilot.pause()
        assert log.show_vertical_scrollbar and not log.show_horizontal_scrollbar
        assert log.virtual_size.width == 78
        last_rows = [row[:78].rstrip() for row in screen_text(app).splitlines()[-3:]]  # 158 characters
        assert "".join(last_rows) == "099:" + "x" * 150 + ":END"


class GrowingLog(App):
    """A pane over a log that another process is writing; the run ends when that process does."""

    def __init__(self, path: Path, writer) -> None:
        super().__init__()
        self.path = path
        self.writer = writer

    def compose(self) -> ComposeResult:
        yield LogView(reader=file_reader(self.path), is_final=lambda: self.writer.poll() is not None)

    def on_mount(self) -> None:
        self.query_one(LogView).start()


async def test_a_flood_keeps_every_line_and_the_search_counts_the_lines_that_came(tmp_path: Path) -> None:
    lines = 400_000
    path = tmp_path / "output.log"
    path.write_bytes(b"".join(b"line %d\n" % i for i in range(1, 1000)) + b"needle 1000\n")
    program = tmp_path / "flood.awk"
    program.write_text(f'BEGIN {{ for (i = 1001; i <= {lines}; i++) print (i % 1000 ? "line " : "needle ") i }}\n')
    gate = tmp_path / "gate"
    gate.touch()
    writer = subprocess.Popen(["sh", "-c", f"while [ -e {gate} ]; do sleep 0.01; done; awk -f {program} >> {path}"])
    try:
        app = GrowingLog(path, writer)
        async with app.run_test(size=(80, 24)) as pilot:
            log = app.query_one(LogView)
            await until(pilot, lambda: log.line_count == 1000)
            log.search("NEEDLE")
            await until(pilot, lambda: log.match_position[1] == 1)
            log.action_bottom()
            gate.unlink()  # the flood starts: ~5 MB at the speed of awk
            await until(pilot, lambda: log.ended, timeout=60)
            assert log.line_count == lines and not log.partial
            await until(pilot, lambda: log.match_position[1] == lines // 1000)
            assert list(log.matches) == list(range(999, lines, 1000))  # 0-based line numbers
            assert screen_text(app).splitlines()[-1].startswith(f"needle {lines}")  # followed to the end
            await pilot.press("N")  # the last match, which came in the flood
            assert log.match_position == (lines // 1000, lines // 1000)
            await until(pilot, lambda: f"needle {lines}" in screen_text(app))
            await pilot.press("g")
            await until(pilot, lambda: screen_text(app).startswith("line 1"))
    finally:
        writer.kill()
        writer.wait()


async def test_lines_that_arrive_in_view_are_shown_and_a_partial_line_completes(tmp_path: Path) -> None:
    path = tmp_path / "output.log"
    path.write_bytes(b"the widest line of all\nsecond\nthi")
    writer = subprocess.Popen(["sleep", "600"])  # the run goes on
    try:
        app = GrowingLog(path, writer)
        async with app.run_test(size=(80, 24)) as pilot:
            log = app.query_one(LogView)
            await until(pilot, lambda: screen_text(app).splitlines()[2].startswith("thi"))
            with open(path, "ab") as out:
                out.write(b"rd line\nfourth\n")  # no wider: only these rows repaint
            await until(pilot, lambda: [row.rstrip() for row in screen_text(app).splitlines()[:4]]
                        == ["the widest line of all", "second", "third line", "fourth"])
            assert log.line_count == 4
    finally:
        writer.kill()
        writer.wait()


async def test_a_log_larger_than_a_batch_is_read_whole_in_merged_batches(tmp_path: Path) -> None:
    lines = 1_000_000  # ~14 MB: several BATCH_BYTES reads merged into one post
    path = tmp_path / "output.log"
    path.write_bytes(b"".join(b"row %07d\n" % i for i in range(lines)))
    app = OneLog(path)
    async with app.run_test(size=(80, 24)) as pilot:
        log = app.query_one(LogView)
        await until(pilot, lambda: log.ended, timeout=60)
        assert log.line_count == lines and log.size_bytes == path.stat().st_size
        await pilot.press("G")
        await until(pilot, lambda: screen_text(app).splitlines()[-1].startswith(f"row {lines - 1:07d}"))
        log.scroll_to(y=500_000, animate=False, immediate=True)
        await until(pilot, lambda: screen_text(app).startswith("row 0500000"))
