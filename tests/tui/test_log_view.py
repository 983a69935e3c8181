"""The log pane on its own, over a log file on disk: wrapping and scrollbars."""

from __future__ import annotations

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
