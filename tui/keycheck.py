"""The config's `keys:` section checked against the workstation's bindings: unknown binding ids,
key names no terminal sends, and a key given to two actions of one screen are each a sentence (the
TUI shows them as a notification, `vessl-tui keys --check` prints them). Only the sound entries
are applied.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from textual.binding import Binding

MODIFIERS = {"ctrl", "shift", "alt", "meta", "super", "hyper"}


def binding_owners() -> list[type]:
    """Every class that declares bindings, the App first (its keys work on every screen)."""
    from tui.app import AREA_SCREENS, VesslApp, area_screen
    from tui.screens.command_line import CommandLine
    from tui.screens.editor import EditorScreen
    from tui.screens.help import HelpScreen
    from tui.screens.modals import ChoiceModal, ConfirmModal, PromptModal
    from tui.screens.run_detail import RunDetailScreen
    from tui.screens.spec_modal import EditSpecModal
    from tui.widgets.log_view import LogView
    from tui.widgets.path_input import PathInput
    from tui.widgets.row_table import RowTable
    from tui.widgets.runs_table import RunsTable

    return [VesslApp, *map(area_screen, AREA_SCREENS), RunDetailScreen, EditorScreen, LogView, RunsTable, HelpScreen,
            ConfirmModal, PromptModal, ChoiceModal, EditSpecModal, PathInput, CommandLine, RowTable]


def bindings_of(owner: type) -> list[Binding]:
    return [b for b in owner.BINDINGS if isinstance(b, Binding)]


def known_key(key: str) -> bool:
    """True when `key` is a key name Textual can receive (`ctrl+k`, `F`, `question_mark`, `f5`)."""
    from textual.keys import Keys, _character_to_key

    names = {k.value for k in Keys} | {_character_to_key(chr(c)) for c in range(32, 127)} | {
        "space", "enter", "tab", "backspace", "delete", "insert", "home", "end", "pageup", "pagedown",
        "up", "down", "left", "right", "escape"} | {f"f{n}" for n in range(1, 25)}
    *mods, base = key.split("+")
    return bool(base) and all(m in MODIFIERS for m in mods) and (base in names or len(base) == 1)


def check_keymap(keymap: dict[str, str], owners: Iterable[type] | None = None) -> tuple[dict[str, str], list[str]]:
    """(the entries that are sound, one sentence per problem)."""
    owners = list(owners) if owners is not None else binding_owners()
    ids = {b.id: owner for owner in owners for b in bindings_of(owner) if b.id}
    problems: list[str] = []
    sound: dict[str, str] = {}
    for binding_id, keys in keymap.items():
        if binding_id not in ids:
            close = difflib.get_close_matches(binding_id, list(ids), n=1)
            hint = f"; did you mean `{close[0]}`?" if close else "; screens.md lists every binding id."
            problems.append(f"keys: `{binding_id}` is not a binding id{hint}")
            continue
        bad = [k.strip() for k in keys.split(",") if not known_key(k.strip())]
        if bad:
            problems.append(f"keys: `{binding_id}`: `{bad[0]}` is not a key name (e.g. ctrl+k, F, f5, question_mark).")
            continue
        sound[binding_id] = keys
    app = owners[0]
    for owner in owners:
        taken: dict[str, str] = {}
        scope = bindings_of(owner) + ([] if owner is app else bindings_of(app))
        for binding in scope:
            if not binding.id:
                continue
            for key in sound.get(binding.id, binding.key).split(","):
                key = key.strip()
                other = taken.get(key)
                if other and other != binding.id and (binding.id in sound or other in sound):
                    problem = f"keys: `{key}` is given to both `{other}` and `{binding.id}`; give one of them another key."
                    if problem not in problems:
                        problems.append(problem)
                    sound.pop(binding.id, None) if binding.id in sound else sound.pop(other, None)
                taken.setdefault(key, binding.id)
    return sound, problems


KEYS_USAGE = ("usage: vessl-tui keys [--check]\n"
              "  every binding id with its key (as the config's `keys:` remaps it);\n"
              "  --check: only the problems of `keys:` (exit 1 when there is one)")


def keys_command(args: list[str]) -> int:
    """`vessl-tui keys [--check]`: prints, returns the exit code."""
    import sys

    from core.keymap import read_keys

    if args in (["-h"], ["--help"]):
        print(KEYS_USAGE)
        return 0
    if args not in ([], ["--check"]):
        sys.stderr.write(f"error: unknown arguments {' '.join(args)}.\n{KEYS_USAGE}\n")
        return 2
    sound, problems = check_keymap(read_keys())
    if args == ["--check"]:
        for problem in problems:
            print(problem)
        if not problems:
            print("keys: no problems.")
        return 1 if problems else 0
    for owner in binding_owners():
        for binding in bindings_of(owner):
            if binding.id:
                print(f"{binding.id:28} {sound.get(binding.id, binding.key)}")
    for problem in problems:
        sys.stderr.write(problem + "\n")
    return 1 if problems else 0
