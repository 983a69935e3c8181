"""The vessl-tui workstation: areas as MODES, number keys to switch, a command palette with
"Area: action" commands, a `?` overlay of the current screen's keys, dark/light theme, keys
remappable from the config file by binding id, and worker failures shown as notifications.

| Key | Id | Action |
| --- | --- | --- |
| 1..5 | app.area.runs … app.area.tunnels | Switch area: runs, revisions, clusters, gpus, tunnels |
| ? | app.help | The keys of the current screen |
| : | app.command | The command line (`:runs`, `:stop NAME…`, `:logs NAME`, `:run FILE`, `:q`, …) |
| ctrl+p | (palette) | Command palette |
| ctrl+t | app.theme | Dark / light theme |
| ctrl+q | app.quit | Quit |
"""

from __future__ import annotations

import importlib
import threading
import time
from collections.abc import Callable, Iterable
from functools import partial
from typing import TYPE_CHECKING, Any

from textual import work
from textual.app import App
from textual.binding import Binding
from textual.dom import DOMNode
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from tui.widgets.area_bar import AREAS
from tui.workers import describe_error

if TYPE_CHECKING:
    from textual.command import Hits, Provider

AREA_SCREENS: dict[str, str] = {
    "runs": "tui.screens.runs:RunsScreen",
    "revisions": "tui.screens.revisions:RevisionsScreen",
    "clusters": "tui.screens.clusters:ClustersScreen",
    "gpus": "tui.screens.gpus:GpusScreen",
    "tunnels": "tui.screens.tunnels:TunnelsScreen",
    "data": "tui.screens.data:DataScreen",
}
"""Area -> "module:class" of its screen; each area's module is imported when it is first shown."""
KEYMAP_CHECK_DELAY = 1.0
"""Seconds after start when the config's keys are checked (it imports every screen: not before the first frame)."""


def area_screen(area: str) -> type[Screen]:
    """The screen class of `area` (imports its module on first use)."""
    module, _, name = AREA_SCREENS[area].partition(":")
    return getattr(importlib.import_module(module), name)


def area_title(node: DOMNode) -> str:
    """The palette prefix of a binding's owner: its screen's area ("Runs"), or "App"."""
    if isinstance(node, App):
        return "App"
    screen = node if isinstance(node, Screen) else node.screen
    return str(getattr(screen, "AREA", "App")).capitalize()


def binding_rows(screen: Screen) -> list[tuple[str, str, str]]:
    """(key, what it does, binding id) of every key active on `screen`, for the help overlay; an
    action bound to several keys (`g, home`) is one row with all of them."""
    app = screen.app
    rows: dict[tuple, tuple[list[str], str, str]] = {}
    for key, active in screen.active_bindings.items():
        binding = active.binding
        if binding.system or not binding.description:
            continue
        keys, _, _ = rows.setdefault((binding.id, binding.action), ([], binding.tooltip or binding.description,
                                                                     binding.id or ""))
        display = app.get_key_display(Binding(key, binding.action))
        if display not in keys:
            keys.append(display)
    return [(", ".join(keys), description, binding_id) for keys, description, binding_id in rows.values()]


def new_area_screen(area: str) -> Screen:
    """A new screen of `area` (what the App's MODES make on the area's first visit)."""
    return area_screen(area)()


def area_commands() -> "type[Provider]":
    """The palette's provider of area commands (its module is imported when the palette opens)."""
    from textual.command import DiscoveryHit, Hit, Provider

    class AreaCommands(Provider):
        """Palette commands: "Go: <area>", every key of the current screen, and every area's keys."""

        def _commands(self) -> Iterable[tuple[str, Callable[[], Any], str]]:
            return palette_commands(self.app, self.screen)

        async def discover(self) -> "Hits":
            for name, callback, help_text in self._commands():
                yield DiscoveryHit(name, callback, help=help_text)

        async def search(self, query: str) -> "Hits":
            matcher = self.matcher(query)
            for name, callback, help_text in self._commands():
                score = matcher.match(name)
                if score > 0:
                    yield Hit(score, matcher.highlight(name), callback, help=help_text)

    return AreaCommands


def palette_commands(app: "VesslApp", current: Screen) -> Iterable[tuple[str, Callable[[], Any], str]]:
    """(name, callback, help) of every palette command: areas, the current screen's keys, every area's keys."""
    names = set()
    for area in AREAS:
        yield f"Go: {area}", partial(app.switch_mode, area), f"Switch to the {area} area"
    yield "App: toggle dark/light theme", app.action_toggle_theme, "Switch between dark and light"
    for active in current.active_bindings.values():
        binding = active.binding
        if binding.system or not binding.description or binding.action in ("quit", "command_palette"):
            continue
        name = f"{area_title(active.node)}: {binding.tooltip or binding.description}"
        if name not in names:
            names.add(name)
            yield name, partial(app.run_action, binding.action, active.node), binding.id or ""
    for area in AREA_SCREENS:
        for binding in area_screen(area).BINDINGS:
            if not isinstance(binding, Binding) or not binding.description:
                continue
            name = f"{area.capitalize()}: {binding.tooltip or binding.description}"
            if name not in names:
                names.add(name)
                yield name, partial(app.run_in_area, area, binding.action), binding.id or ""


def config_keymap() -> dict[str, str]:
    """Binding id -> key(s) from the config file's `keys:` section (empty when there is none)."""
    from core.keymap import read_keys

    return read_keys()


class VesslApp(App):
    """The workstation. `engine`, `tunnels`, `clock` and `gpu_sampler` can be given (tests);
    by default the engine is made on first use, in the worker that needs it."""

    TITLE = "vessl-tui"
    CSS_PATH = "app.tcss"
    MODES = {area: partial(new_area_screen, area) for area in AREA_SCREENS}
    DEFAULT_MODE = "runs"
    COMMANDS = App.COMMANDS | {area_commands}
    BINDINGS = [
        *(Binding(str(n), f"switch_mode('{area}')", area.capitalize(), id=f"app.area.{area}", show=False)
          for n, area in enumerate(AREAS, 1)),
        Binding("question_mark", "help", "Help", id="app.help"),
        Binding("colon", "command_line", "Command", id="app.command", show=False),
        Binding("ctrl+t", "toggle_theme", "Theme", id="app.theme", show=False),
        Binding("ctrl+q", "quit", "Quit", id="app.quit", show=False, priority=True),
    ]

    def __init__(
        self,
        *,
        engine: Any = None,
        tunnels: Any = None,
        clock: Callable[[], float] | None = None,
        gpu_sampler: Callable[[Any], Any] | None = None,
        keymap: dict[str, str] | None = None,
        edit: str | None = None,
    ) -> None:
        super().__init__()
        self._engine = engine
        self._engine_lock = threading.Lock()
        self._tunnels = tunnels
        self.clock = clock or time.time
        self._gpu_sampler = gpu_sampler
        self._keymap_override = keymap
        self._edit = edit
        self.run_names: dict[str, str] = {}

    @property
    def engine(self) -> Any:
        """The engine (made on first use; call from workers: making it opens the store)."""
        with self._engine_lock:
            if self._engine is None:
                from core.engine import Engine

                self._engine = Engine()
            return self._engine

    @property
    def tunnels(self) -> Any:
        if self._tunnels is None:
            from core.tunnels import TunnelManager

            self._tunnels = TunnelManager()
        return self._tunnels

    @property
    def gpu_sampler(self) -> Callable[[Any], Any]:
        if self._gpu_sampler is None:
            from core.metrics import host_gpus

            self._gpu_sampler = host_gpus
        return self._gpu_sampler

    def on_mount(self) -> None:
        if self._edit:
            from tui.screens.editor import EditorScreen

            self.call_after_refresh(self.push_screen, EditorScreen(self._edit))  # over the first area
        from core.engine import RECONCILE_SECONDS

        self._reconcile()
        self.set_interval(RECONCILE_SECONDS, self._reconcile)
        if self._keymap_override is not None:
            self.set_keymap(self._keymap_override)
            self.call_later(self.refresh_bindings)  # the key bar shows the keys as remapped
        else:
            self._load_keymap()

    @work(thread=True, exclusive=True, group="app-keymap", exit_on_error=False)
    def _load_keymap(self) -> None:
        """Read the config's keys off the event loop (loading the config costs a few hundred ms) and
        apply them; they are checked (every screen's bindings imported) after the first frames."""
        try:
            keymap = config_keymap()
        except Exception as exc:  # noqa: BLE001 - a broken config must not stop the workstation
            self.call_from_thread(
                self.notify, f"Key bindings from the config were not applied: {describe_error(exc)}", severity="warning"
            )
            return
        if keymap:
            self.call_from_thread(self.set_keymap, keymap)
            self.call_from_thread(self.set_timer, KEYMAP_CHECK_DELAY, partial(self._check_keymap, keymap))

    @work(thread=True, exclusive=True, group="app-keymap", exit_on_error=False)
    def _check_keymap(self, keymap: dict[str, str]) -> None:
        """Say what is wrong with the config's keys, and keep only the sound ones."""
        from tui.keycheck import check_keymap

        sound, problems = check_keymap(keymap)
        if problems:
            more = f" (and {len(problems) - 1} more: `vessl-tui keys --check`)" if len(problems) > 1 else ""
            self.call_from_thread(self.notify, problems[0] + more, title="Key bindings", severity="warning", timeout=12)
            self.call_from_thread(self.set_keymap, sound)

    @work(thread=True, exclusive=True, group="app-reconcile", exit_on_error=False)
    def _reconcile(self) -> None:
        """Repair runs whose supervisor died (a long-lived client must: no other may be running)."""
        self.engine.reconcile()

    def on_unmount(self) -> None:
        if self._tunnels is not None:
            self._tunnels.close_all()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one place where a failed worker becomes a notification (one sentence)."""
        if event.state == WorkerState.ERROR:
            self.notify(describe_error(event.worker.error), title="Error", severity="error", timeout=8)

    async def run_in_area(self, area: str, action: str) -> None:
        """Switch to `area`, then run `action` on its screen (palette commands of other areas)."""
        await self.switch_mode(area)
        await self.run_action(action, self.screen)

    def action_help(self) -> None:
        from tui.screens.help import HelpScreen

        if isinstance(self.screen, HelpScreen):
            return
        title = str(getattr(self.screen, "AREA", "app")).capitalize()
        self.push_screen(HelpScreen(title, binding_rows(self.screen)))

    def action_command_line(self) -> None:
        from tui.screens.command_line import CommandLine

        if isinstance(self.screen, CommandLine):
            return

        def answered(text: str | None) -> None:
            if text:
                from tui.commands import execute

                execute(self, text)

        names = sorted(set(self.run_names.values()))
        self.push_screen(CommandLine(names), answered)

    @work(thread=True, group="app-command", exit_on_error=False)
    def run_command_worker(self, name: str, args: list[str]) -> None:
        """A `:` command that reaches the engine (see tui.commands.act)."""
        from tui.commands import act

        act(self, name, args)

    def action_toggle_theme(self) -> None:
        self.theme = "textual-light" if self.current_theme.dark else "textual-dark"


def run_app(edit: str | None = None) -> None:
    """Open the workstation (what `vessl-tui` with no arguments does), in the editor on `edit`
    when given (`vessl-tui edit FILE`)."""
    VesslApp(edit=edit).run()
