"""The bottom line of every screen: the keys active now, as `key description` pairs on one line.

It shows what Textual's `Footer` would (the shown bindings of the focused widget, its screen and the
App, one per action, keys remapped from the config shown as remapped, disabled ones dimmed, the
palette key on the right) but draws them as one line of text in one widget, rebuilt only when the
screen's bindings change (focus moves, a keymap is applied). The App's own keys (`?` help) and the
palette key sit at the right end; the screen's keys fill the rest, most specific first. On a narrow
terminal the bar turns compact before it leaves any key out (see `render`); keys that still do not
fit are left out, the least used first (`?` lists them all). A click on a key presses it.
"""

from __future__ import annotations

from typing import NamedTuple

from rich.style import Style
from rich.text import Text
from textual.app import App
from textual.dom import DOMNode
from textual.screen import Screen
from textual.widget import Widget


class KeyEntry(NamedTuple):
    key: str
    """The key a click presses (after the keymap)."""
    display: str
    """How the key is shown (`^s`, `↑`, `?`)."""
    description: str
    enabled: bool
    pinned: bool
    """An App key or the palette: shown at the right end, always."""
    binding_id: str = ""


LEAST_USED = (
    "runs.sort", "runs.rerun", "log.wrap", "log.next_match", "detail.info", "detail.provisioning",
    "detail.save", "detail.rerun", "detail.tunnel", "revisions.traffic", "revisions.reproduce", "revisions.scale",
    "revisions.logs", "revisions.replicas", "clusters.reload", "editor.new", "editor.open", "editor.help",
    "editor.problems", "runs.editor", "runs.select", "runs.remove", "log.follow",
)
"""Binding ids a narrow bar leaves out first, in this order (the rest keep their place; `?` lists all)."""


def declared_order(node: DOMNode) -> dict[str, int]:
    """Action -> its place in the node's declared bindings (a remapped key keeps its place)."""
    declared = type(node)._merged_bindings
    return {binding.action: index for index, (_key, binding) in enumerate(declared or ())}


def key_entries(screen: Screen) -> list[KeyEntry]:
    """The entries the bar shows for `screen` now: one per action, the focused widget's first,
    then its screen's, then the App's, each in the order they are declared."""
    app = screen.app
    ranked: list[tuple[int, int, KeyEntry]] = []
    actions: set[str] = set()
    palette = None
    nodes: dict[DOMNode, tuple[int, dict[str, int]]] = {}
    for key, (node, binding, enabled, _tooltip) in screen.active_bindings.items():
        if key == app.COMMAND_PALETTE_BINDING and app.ENABLE_COMMAND_PALETTE:
            palette = KeyEntry(binding.key, app.get_key_display(binding), binding.description, enabled, True)
            continue
        if not binding.show or binding.action in actions:
            continue
        actions.add(binding.action)
        if node not in nodes:
            nodes[node] = (len(nodes), declared_order(node))
        place, order = nodes[node]
        entry = KeyEntry(binding.key, app.get_key_display(binding), binding.description, enabled, isinstance(node, App),
                         binding.id or "")
        ranked.append((place, order.get(binding.action, len(order)), entry))
    return [entry for *_, entry in sorted(ranked, key=lambda r: r[:2])] + ([palette] if palette else [])


class KeyBar(Widget, can_focus=False):
    """One line of `key description` pairs for the current screen (see the module docstring)."""

    ALLOW_SELECT = False
    COMPONENT_CLASSES = {"key-bar--key", "key-bar--description"}
    DEFAULT_CSS = """
    KeyBar {
        dock: bottom; height: 1;
        background: $footer-background; color: $footer-foreground;
        & > .key-bar--key { color: $footer-key-foreground; background: $footer-key-background; text-style: bold; }
        & > .key-bar--description { color: $footer-description-foreground; background: $footer-description-background; }
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.set_reactive(Widget.auto_links, False)  # keys are clickable, not styled as links
        self.entries: list[KeyEntry] = []

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self._bindings_changed(self.screen)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Screen) -> None:
        if not self.is_attached or screen is not self.screen:
            return
        entries = key_entries(screen)
        if entries != self.entries:
            self.entries = entries
            self.refresh()

    def render(self) -> Text:
        """The widest layout whose screen keys all fit: padded pairs, then compact ones (`␣` for
        space), then compact ones with the App's keys shown without descriptions; when even that
        is too wide, the least used keys are left out first (LEAST_USED), then those that still do
        not fit (`?` lists every key)."""
        key_style = self.get_component_rich_style("key-bar--key", partial=True)
        description_style = self.get_component_rich_style("key-bar--description", partial=True)
        dim = Style(dim=True)

        def pair(entry: KeyEntry, compact: bool, bare: bool = False) -> Text:
            click = Style.from_meta({"@click": f"app.simulate_key({entry.key!r})"})
            display = "␣" if compact and entry.display == "space" else entry.display
            key = (f"{display} " if bare else display) if compact else f" {display} "
            description = "" if bare or not entry.description else (
                f" {entry.description} " if compact else f"{entry.description} ")
            text = Text.assemble((key, key_style + click), (description, description_style + click))
            if not entry.enabled:
                text.stylize(dim)
            return text

        layouts = ((False, False), (True, False), (True, True))
        for level, (compact, bare_pinned) in enumerate(layouts):
            shown = [e for e in self.entries if not e.pinned]
            left = [pair(e, compact) for e in shown]
            right = Text("").join(pair(e, compact, bare_pinned) for e in self.entries if e.pinned)
            room = self.size.width - right.cell_len - 1
            if sum(part.cell_len for part in left) <= room or level == len(layouts) - 1:
                break
        widths = {id(e): part.cell_len for e, part in zip(shown, left)}
        lead = 1 if compact else 0  # the compact line starts with a space
        for binding_id in LEAST_USED:  # too narrow: the least used keys go first
            if lead + sum(widths[id(e)] for e in shown) <= room:
                break
            shown = [e for e in shown if e.binding_id != binding_id]
        left = [pair(e, compact) for e in shown]
        line = Text(" " if compact else "", no_wrap=True, overflow="crop", end="")
        for part in left:
            if line.cell_len + part.cell_len > room:
                break
            line.append_text(part)
        line.append(" " * max(0, self.size.width - line.cell_len - right.cell_len))
        line.append_text(right)
        return line
