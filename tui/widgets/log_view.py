"""A log pane over a run's log file that never holds the whole log in memory.

The log is read by byte offsets through a `LogReader` (`engine.read_log`). A tail worker reads
what is new, in batches, and a `LineFeeder` turns bytes into a sparse line index (the byte offset
of every `STRIDE`-th line) plus the decoded text of the newest lines. Lines scrolled into view that
are not cached are read back by block in a worker. Memory stays bounded: 8 bytes per `STRIDE`
lines for the index plus `CACHE_BLOCKS` blocks of text, whatever the log's size.

Rendering uses the Line API (`ScrollView.render_line`): only visible lines become Strips.
"""

from __future__ import annotations

import re
import threading
import time
from array import array
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import on, work
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.worker import get_current_worker

from tui.widgets.log_index import (CACHE_BLOCKS, MAX_MATCHES, READ_LIMIT, STRIDE, LineFeeder, LogBatch, LogReader,
                                   display_text, search_lines)
from tui.workers import ReportsWorkerErrors

BATCH_BYTES = 4 << 20
POST_BYTES = 64 << 20
"""A batch is indexed BATCH_BYTES at a time; while more is waiting, up to POST_BYTES go in one post."""
BATCH_SECONDS = 0.1
FLOOD_LINES = 2000
FLOOD_SECONDS = 0.25
FLOOD_BYTES = 256 << 10
"""While more than FLOOD_LINES arrive per batch, batches (and redraws) come every FLOOD_SECONDS."""
TAIL_BLOCKS = 3
LINE_STRIPS = 512

IDLE_WAKE_SECONDS = 0.5
"""Longest the tail sleeps without a write before it asks again whether the run ended (or it was cancelled)."""



class Watch(Protocol):
    """What `LogView(watch=...)` makes: `wait(timeout)` returns when the log's run changed (new bytes,
    its end) or after `timeout` seconds; `close()` ends it (engine.watch_run gives one)."""

    def wait(self, timeout: float) -> bool: ...

    def close(self) -> None: ...


def _read_up_to(reader: LogReader, offset: int, limit: int) -> tuple[bytes, int]:
    """Up to `limit` bytes from `offset` (fewer at the log's end), and the offset after them."""
    chunks, size = [], 0
    while size < limit:
        data, offset = reader(offset, min(READ_LIMIT, limit - size))
        if not data:
            break
        chunks.append(data)
        size += len(data)
    return b"".join(chunks), offset


class _Sleep:
    """A Watch for readers without one: sleeps `interval` seconds."""

    def __init__(self, interval: float) -> None:
        self.interval = interval

    def wait(self, timeout: float) -> bool:
        time.sleep(min(self.interval, timeout))
        return False

    def close(self) -> None:
        pass


class LogView(ReportsWorkerErrors, ScrollView, can_focus=True):
    """A live, searchable log pane.

    | Key | Id | Action |
    | --- | --- | --- |
    | f | log.follow | Follow new lines on/off |
    | w | log.wrap | Wrap long lines on/off |
    | n | log.next_match | Next search match |
    | N | log.previous_match | Previous search match |
    | g / home | log.top | Jump to the top |
    | G / end | log.bottom | Jump to the bottom (and follow) |
    """

    BINDINGS = [
        Binding("f", "toggle_follow", "Follow", id="log.follow"),
        Binding("w", "toggle_wrap", "Wrap", id="log.wrap"),
        Binding("n", "next_match", "Next match", id="log.next_match"),
        Binding("N", "previous_match", "Prev match", id="log.previous_match", show=False),
        Binding("g,home", "top", "Top", id="log.top", show=False),
        Binding("G,end", "bottom", "Bottom", id="log.bottom", show=False),
    ]

    COMPONENT_CLASSES = {"log-view--match", "log-view--current-match", "log-view--loading"}

    DEFAULT_CSS = """
    LogView { background: $surface; }
    LogView > .log-view--match { background: $warning 60%; color: $text; }
    LogView > .log-view--current-match { background: $accent; color: $text; text-style: bold; }
    LogView > .log-view--loading { color: $text-muted; }
    """

    follow: reactive[bool] = reactive(True)
    """Keep the newest line in view as lines arrive."""
    wrap: reactive[bool] = reactive(False)
    """Wrap long lines to the pane's width instead of scrolling sideways."""
    query: reactive[str] = reactive("")
    """The search text (highlighted in visible lines); empty for none."""

    class Appended(Message):
        """New lines were read from the log (posted by the tail worker)."""

        def __init__(self, view: "LogView", batch: LogBatch) -> None:
            super().__init__()
            self.view = view
            self.batch = batch

    class BlocksLoaded(Message):
        """Blocks of older lines were read back for display."""

        def __init__(self, blocks: dict[int, list[str]]) -> None:
            super().__init__()
            self.blocks = blocks

    class SearchDone(Message):
        """A search over the log up to `end` (a line boundary: line `end_line` starts there) finished;
        `more` when it covered lines that arrived after the search started (append them)."""

        def __init__(self, view: "LogView", generation: int, matches: array, end: int, end_line: int,
                     more: bool = False) -> None:
            super().__init__()
            self.view = view
            self.generation = generation
            self.matches = matches
            self.end = end
            self.end_line = end_line
            self.more = more

    class StateChanged(Message):
        """Follow, wrap, or the search position changed (for a title line)."""

        def __init__(self, view: "LogView") -> None:
            super().__init__()
            self.view = view

    def __init__(
        self,
        *,
        reader: LogReader | None = None,
        is_final: Callable[[], bool] | None = None,
        watch: Callable[[], "Watch"] | None = None,
        poll_interval: float = 0.1,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.reader = reader
        self.is_final = is_final or (lambda: False)
        self.watch = watch
        self.poll_interval = poll_interval
        self._taken = threading.Event()
        self._taken.set()
        self.line_count = 0
        self.size_bytes = 0
        self.partial = ""
        self.ended = False
        self._checkpoints = array("q", [0])
        self._blocks: OrderedDict[int, list[str]] = OrderedDict()
        self._wanted: set[int] = set()
        self._widest = 0
        self._matches = array("q")
        self._match_index = -1
        self._complete_bytes = 0
        self._search_generation = 0
        self._searched: tuple[int, int] | None = None
        """(bytes, lines) the current search covered; None while a search pass runs."""
        self._pattern: re.Pattern[str] | None = None
        self._wrap_rows: tuple[tuple, list[Strip]] | None = None
        self._strips: OrderedDict[tuple, list[Strip]] = OrderedDict()
        self._styles: dict[str, Style] = {}

    # --- public API -----------------------------------------------------------------------------

    @property
    def lines_shown(self) -> int:
        """Complete lines plus a trailing line without its newline yet."""
        return self.line_count + (1 if self.partial else 0)

    @property
    def matches(self) -> array:
        return self._matches

    @property
    def match_position(self) -> tuple[int, int]:
        """(1-based index of the current match or 0, number of matches)."""
        return (self._match_index + 1, len(self._matches))

    def start(self) -> None:
        """Begin reading the log (from the start) and keep reading while the run writes it."""
        if self.reader is not None:
            self._tail()

    def get_line(self, number: int) -> str | None:
        """The text of line `number` when it is cached, else None (and it is fetched for display)."""
        if number == self.line_count and self.partial:
            return self.partial
        if not 0 <= number < self.line_count:
            return None
        block = self._blocks.get(number // STRIDE)
        if block is None or len(block) <= number % STRIDE:
            self._want(number // STRIDE)
            return None
        self._blocks.move_to_end(number // STRIDE)
        return block[number % STRIDE]

    def search(self, query: str) -> None:
        """Find every line containing `query` (whole log, in a worker); highlight and jump to the first
        match after the current position. Lines that arrive later are searched as they come: the
        count and n/N include them."""
        self.query = query
        self._matches = array("q")
        self._match_index = -1
        self._search_generation += 1
        self._searched = None
        if query and self.reader is not None:
            self._search(query, self._search_generation, 0, 0, self._complete_bytes, self.line_count, False)
        self.post_message(self.StateChanged(self))

    def save_to(self, path: Path, create_folder: bool = False) -> None:
        """Copy the whole log to `path` (in a worker); a notification says where it went. Its
        folder is created only when `create_folder` (the caller asked)."""
        self._save(Path(path), create_folder)

    # --- workers --------------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="log-tail", exit_on_error=False)
    def _tail(self) -> None:
        """Read what is new, index it here (off the event loop), and post one batch at most every
        BATCH_SECONDS (FLOOD_SECONDS in a flood), one batch in flight at a time: a flood becomes a
        few messages a second, and a batch over FLOOD_BYTES carries the text of its newest
        TAIL_BLOCKS blocks only (older lines are read back by block when scrolled to). Between
        writes it sleeps on the `watch` (woken by the writes), else on `poll_interval`."""
        worker = get_current_worker()
        feeder = LineFeeder()
        offset = 0
        reader = self.reader
        assert reader is not None
        watch = self.watch() if self.watch is not None else _Sleep(self.poll_interval)
        last_post, pause = 0.0, BATCH_SECONDS
        try:
            while not worker.is_cancelled:
                wait = last_post + pause - time.monotonic()
                if wait > 0:
                    time.sleep(wait)  # pacing: at most one batch per `pause`, whatever the flood
                data, offset = _read_up_to(reader, offset, BATCH_BYTES)
                if data:
                    before = feeder.line_count
                    feeder.keep_blocks = TAIL_BLOCKS if len(data) > FLOOD_BYTES else CACHE_BLOCKS
                    batch, taken = feeder.feed(data), len(data)
                    while len(data) == BATCH_BYTES and taken < POST_BYTES and not worker.is_cancelled:
                        data, offset = _read_up_to(reader, offset, BATCH_BYTES)  # more waits: read on at full speed
                        batch, taken = batch.merged(feeder.feed(data)), taken + len(data)
                    if not self._post_when_taken(batch, worker):
                        return
                    last_post = time.monotonic()
                    pause = FLOOD_SECONDS if feeder.line_count - before > FLOOD_LINES else BATCH_SECONDS
                    continue
                if self.is_final():
                    data, offset = reader(offset, READ_LIMIT)
                    if not data:
                        self.ended = True
                        self.post_message(self.StateChanged(self))
                        return
                    if not self._post_when_taken(feeder.feed(data), worker):
                        return
                    continue
                watch.wait(IDLE_WAKE_SECONDS)
        finally:
            watch.close()

    def _post_when_taken(self, batch: LogBatch, worker) -> bool:
        """Post `batch` once the previous one was applied (False: the worker was cancelled meanwhile)."""
        while not self._taken.wait(IDLE_WAKE_SECONDS):
            if worker.is_cancelled:
                return False
        self._taken.clear()
        self.post_message(self.Appended(self, batch))
        return True

    @work(thread=True, exclusive=True, group="log-load", exit_on_error=False)
    def _load_blocks(self, wanted: list[int], checkpoints: list[tuple[int, int]]) -> None:
        reader = self.reader
        assert reader is not None
        loaded: dict[int, list[str]] = {}
        for block, (start, end) in zip(wanted, checkpoints):
            data, offset = b"", start
            while offset < end:
                chunk, offset = reader(offset, min(READ_LIMIT, end - offset))
                if not chunk:
                    break
                data += chunk
            text = data.decode("utf-8", "replace").split("\n")[:STRIDE]
            loaded[block] = [display_text(line) for line in text]
        self.post_message(self.BlocksLoaded(loaded))

    @work(thread=True, exclusive=True, group="log-search", exit_on_error=False)
    def _search(self, query: str, generation: int, start: int, first_line: int, end: int, end_line: int,
                more: bool) -> None:
        assert self.reader is not None
        limit = MAX_MATCHES - len(self._matches) if more else MAX_MATCHES
        found = search_lines(self.reader, query, end, limit=max(0, limit), start=start, first_line=first_line)
        self.post_message(self.SearchDone(self, generation, found, end, end_line, more))

    def _search_new_lines(self) -> None:
        """Search the complete lines that arrived since the last pass (one pass at a time)."""
        if not self.query or self._searched is None or self.reader is None:
            return
        start, first_line = self._searched
        if self._complete_bytes > start and len(self._matches) < MAX_MATCHES:
            self._searched = None
            self._search(self.query, self._search_generation, start, first_line, self._complete_bytes,
                         self.line_count, True)

    @work(thread=True, group="log-save", exit_on_error=False)
    def _save(self, path: Path, create_folder: bool) -> None:
        reader = self.reader
        assert reader is not None
        offset = 0
        if create_folder:
            path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as out:
            while True:
                data, offset = reader(offset, READ_LIMIT)
                if not data:
                    break
                out.write(data)
        self.app.call_from_thread(self.notify, f"Saved the log ({offset} bytes) to {path}.")

    def _want(self, block: int) -> None:
        if block not in self._wanted:
            self._wanted.add(block)
            if len(self._wanted) == 1:
                self.call_after_refresh(self._request_blocks)

    def _request_blocks(self) -> None:
        wanted = sorted(self._wanted)
        ranges = []
        for block in wanted:
            start = self._checkpoints[block]
            end = self._checkpoints[block + 1] if block + 1 < len(self._checkpoints) else self.size_bytes
            ranges.append((start, end))
        if wanted and self.reader is not None:
            self._load_blocks(wanted, ranges)

    # --- message handlers -----------------------------------------------------------------------

    @on(Appended)
    def _on_appended(self, event: Appended) -> None:
        event.stop()
        batch = event.batch
        self._taken.set()
        changed_from = max(0, self.lines_shown - 1)  # the old last line may have been partial
        self._checkpoints.extend(batch.checkpoints)
        self.line_count, self.size_bytes, self.partial = batch.line_count, batch.size, batch.partial
        self._complete_bytes = batch.complete
        for block, lines in batch.blocks.items():
            self._blocks[block] = lines
            self._blocks.move_to_end(block)
        self._evict()
        self._widest = max(self._widest, batch.widest)
        self._update_virtual_size()
        if self.follow:
            self._follow_end()
        self._wrap_rows = None
        self._refresh_from(changed_from)
        self._search_new_lines()

    def _refresh_from(self, line: int) -> None:
        """Repaint the visible rows that show line `line` or a later one (all rows when wrapped:
        they move); nothing when those lines are below the view."""
        if self.wrap:
            self.refresh()
            return
        top = self.scroll_offset.y
        bottom = top + self.size.height
        first = max(line, top)
        if first < bottom:
            self.refresh_lines(first, bottom - first)

    @on(BlocksLoaded)
    def _on_blocks_loaded(self, event: BlocksLoaded) -> None:
        event.stop()
        for block, lines in event.blocks.items():
            self._wanted.discard(block)
            current = self._blocks.get(block)
            if current is None or len(current) < len(lines):
                self._blocks[block] = lines
            self._widest = max(self._widest, max(map(len, lines), default=0))
        self._evict()
        self._update_virtual_size()
        self._wrap_rows = None
        self.refresh()

    @on(SearchDone)
    def _on_search_done(self, event: SearchDone) -> None:
        if event.generation != self._search_generation:
            return
        self._searched = (event.end, event.end_line)
        if event.more:
            if len(event.matches):
                self._matches.extend(event.matches)
            self.post_message(self.StateChanged(self))
        else:
            self._matches = event.matches
            if len(self._matches):
                self._match_index = -1
                self.action_next_match()
            else:
                self.post_message(self.StateChanged(self))
        self._search_new_lines()

    def _evict(self) -> None:
        keep = max(CACHE_BLOCKS, self.size.height // STRIDE + 4)
        last = self.line_count // STRIDE
        while len(self._blocks) > keep:
            oldest = next(iter(self._blocks))
            if oldest == last:
                self._blocks.move_to_end(oldest)
                continue
            del self._blocks[oldest]

    def _update_virtual_size(self) -> None:
        """Set the scrollable size without a relayout of the screen: the pane's own size never
        depends on it, so only its scrollbars are updated (showing or hiding one still relays out)."""
        size = Size(self._wrap_width() if self.wrap else self._widest + 1, self.lines_shown)
        if size == self.virtual_size:
            return
        if not self.is_mounted:
            self.virtual_size = size
            return
        widened = size.width != self.virtual_size.width
        bars = (self.show_vertical_scrollbar, self.show_horizontal_scrollbar)
        self.set_reactive(ScrollView.virtual_size, size)
        self._scroll_update(size)
        if widened or bars != (self.show_vertical_scrollbar, self.show_horizontal_scrollbar):
            self.refresh()  # rows are cropped to the width: a longer line or a scrollbar changes them

    # --- watchers -------------------------------------------------------------------------------

    def _follow_end(self) -> None:
        """Show the newest line now, and again once the layout is known (first batches)."""
        self.scroll_to(y=self.max_scroll_y, animate=False, immediate=True, force=True)
        self.call_after_refresh(lambda: self.follow and self.scroll_to(y=self.max_scroll_y, animate=False, immediate=True, force=True))

    def watch_follow(self, follow: bool) -> None:
        if follow and self.is_mounted:
            self._follow_end()
        self.post_message(self.StateChanged(self))

    def watch_wrap(self) -> None:
        self._wrap_rows = None
        if self.is_mounted:
            self._update_virtual_size()
            self.scroll_to(x=0, animate=False)
            self.refresh()
        self.post_message(self.StateChanged(self))

    def watch_query(self, query: str) -> None:
        self._pattern = re.compile(re.escape(query), re.IGNORECASE) if query else None
        self._wrap_rows = None
        self._strips.clear()
        self.refresh()

    def on_resize(self) -> None:
        self._wrap_rows = None
        self._update_virtual_size()
        if self.follow:
            self._follow_end()

    # --- rendering ------------------------------------------------------------------------------

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles.clear()
        self._strips.clear()
        self._wrap_rows = None

    def _style(self, name: str) -> Style:
        """The pane's base style ("base") or a component's, computed once per theme (not per line)."""
        style = self._styles.get(name)
        if style is None:
            style = self.rich_style if name == "base" else self.get_component_rich_style(name)
            self._styles[name] = style
        return style

    def _line_text(self, number: int) -> Text | None:
        """Line `number` as styled text with its matches highlighted; None while it is being read."""
        raw = self.get_line(number)
        if raw is None:
            return None
        text = Text.from_ansi(raw, end="") if "\x1b" in raw else Text(raw, end="")
        if self._pattern is not None:
            current = self._match_index >= 0 and self._matches[self._match_index] == number
            style = self._style("log-view--current-match" if current else "log-view--match")
            for match in self._pattern.finditer(text.plain):
                text.stylize(style, match.start(), match.end())
        return text

    def _line_rows(self, number: int, wrap_width: int | None) -> list[Strip]:
        """The screen rows of line `number` (one unless wrapped to `wrap_width`), in the base style.
        Complete lines never change, so their rows are kept (LRU) until the search or style changes."""
        current = self._match_index >= 0 and self._matches[self._match_index] == number
        key = (number, wrap_width, current)
        rows = self._strips.get(key)
        if rows is not None:
            self._strips.move_to_end(key)
            return rows
        base = self._style("base")
        text = self._line_text(number)
        if text is None:
            loading = Strip([Segment("…", base + self._style("log-view--loading"))])
            return [loading.extend_cell_length(wrap_width, base) if wrap_width else loading]
        console = self.app.console
        if wrap_width is None:
            rows = [Strip(list(text.render(console))).apply_style(base)]
        else:
            rows = [
                Strip(list(line.render(console)), line.cell_len).extend_cell_length(wrap_width, base).apply_style(base)
                for line in text.wrap(console, max(1, wrap_width))
            ] or [Strip.blank(wrap_width, base)]
        if number < self.line_count:
            self._strips[key] = rows
            if len(self._strips) > LINE_STRIPS:
                self._strips.popitem(last=False)
        return rows

    def render_line(self, y: int) -> Strip:
        base = self._style("base")
        if self.wrap:
            rows = self._wrapped_rows()
            return rows[y] if y < len(rows) else Strip.blank(self._wrap_width(), base)
        scroll_x, scroll_y = self.scroll_offset
        number = scroll_y + y
        width = self.size.width
        if number >= self.lines_shown:
            return Strip.blank(width, base)
        return self._line_rows(number, None)[0].crop_extend(scroll_x, scroll_x + width, base)

    def _wrap_width(self) -> int:
        """The columns a wrapped row may take: the pane's width less its vertical scrollbar."""
        return self.scrollable_content_region.width

    def _wrapped_rows(self) -> list[Strip]:
        """Screen rows in wrap mode: from the top line down, or, at the bottom, from the last line up."""
        width, height = self._wrap_width(), self.size.height
        at_bottom = self.follow or self.scroll_offset.y >= self.max_scroll_y
        key = (self.scroll_offset.y, width, height, self.lines_shown, at_bottom, self._match_index)
        if self._wrap_rows is not None and self._wrap_rows[0] == key:
            return self._wrap_rows[1]
        rows: list[Strip] = []
        if at_bottom:
            number = self.lines_shown - 1
            while number >= 0 and len(rows) < height:
                rows[:0] = self._line_rows(number, width)
                number -= 1
            rows = rows[-height:]
        else:
            number = self.scroll_offset.y
            while number < self.lines_shown and len(rows) < height:
                rows.extend(self._line_rows(number, width))
                number += 1
        self._wrap_rows = (key, rows)
        return rows

    # --- actions --------------------------------------------------------------------------------

    def action_toggle_follow(self) -> None:
        self.follow = not self.follow

    def action_toggle_wrap(self) -> None:
        self.wrap = not self.wrap

    def action_top(self) -> None:
        self.follow = False
        self.scroll_home(animate=False, immediate=True)

    def action_bottom(self) -> None:
        self.follow = True

    def action_scroll_up(self) -> None:
        self.follow = False
        super().action_scroll_up()

    def action_page_up(self) -> None:
        self.follow = False
        super().action_page_up()

    def on_mouse_scroll_up(self) -> None:
        self.follow = False

    def _jump_to_match(self) -> None:
        """Show the current match mid-pane, now and again after the next layout (the search box
        that just closed may still hold rows of the pane)."""
        line = self._matches[self._match_index]
        self.follow = False

        def center() -> None:
            self.scroll_to(y=max(0, line - self.size.height // 2), animate=False, immediate=True, force=True)

        center()
        self.call_after_refresh(lambda: 0 <= self._match_index < len(self._matches)
                                and self._matches[self._match_index] == line and center())
        self._wrap_rows = None
        self.refresh()
        self.post_message(self.StateChanged(self))

    def _center_line(self) -> int:
        return self.scroll_offset.y + self.size.height // 2

    def action_next_match(self) -> None:
        if not len(self._matches):
            return
        if self._match_index < 0:
            center = 0 if self.follow else self._center_line()
            after = bisect_left(self._matches, center)
            self._match_index = after if after < len(self._matches) else 0
        else:
            self._match_index = (self._match_index + 1) % len(self._matches)
        self._jump_to_match()

    def action_previous_match(self) -> None:
        if not len(self._matches):
            return
        self._match_index = (self._match_index - 1) % len(self._matches) if self._match_index >= 0 else len(self._matches) - 1
        self._jump_to_match()
