"""Spec editor: YAML with syntax highlighting, a problems list updated as you type, field help,
the dry-run plan, open/save, submit, and new specs from templates.

| Key | Id | Action |
| --- | --- | --- |
| ctrl+s | editor.save | Save (asks for a path the first time) |
| ctrl+o | editor.open | Open a spec file |
| ctrl+n | editor.new | New spec from a template |
| ctrl+r | editor.submit | Submit the spec as a run (saves first); a service spec offers "create revision" |
| ctrl+g | editor.plan | Dry run: show what submit would do (from the text as it is; nothing is saved) |
| f1 | editor.help | Show / hide help for the field under the cursor |
| f4 | editor.problems | Move between the text and the problems list |
| enter (in problems) | - | Move the cursor to the problem |
| escape | editor.back | Back (asks before dropping unsaved changes) |
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Static, TextArea

from tui.workers import ReportsWorkerErrors

from core.config import home_path
from tui.save_target import write_after_asking
from tui.screens.modals import ChoiceModal, ConfirmModal, PromptModal
from tui.widgets.key_bar import KeyBar
from tui.widgets.problems import ProblemsList

CHECK_DELAY = 0.3
_KEY = re.compile(r"^(\s*)(-\s+)?([A-Za-z_][\w.\-]*)\s*:(\s|$)")


def yaml_path_at(text: str, line: int) -> str:
    """The dotted key path (`resources.gpu`) of the mapping key at or above 0-based `line`,
    from indentation alone (list indexes are left out), so it works on text that does not parse."""
    lines = text.split("\n")
    if not 0 <= line < len(lines):
        return ""
    parts: list[str] = []
    bound: int | None = None
    for raw in reversed(lines[: line + 1]):
        stripped = raw.lstrip(" ")
        if not stripped or stripped.startswith("#"):
            continue
        indent = len(raw) - len(stripped)
        match = _KEY.match(raw)
        if match is None:
            if bound is None:
                bound = indent + 1 if stripped.startswith("-") else indent
            continue
        key_indent = indent + (len(match.group(2)) if match.group(2) else 0)
        if bound is None or key_indent < bound:
            parts.append(match.group(3))
            bound = indent + 1 if match.group(2) else key_indent
            if bound == 0:
                break
    return ".".join(reversed(parts))


def template_choices(templates: Any) -> list[tuple[str, str, str]]:
    """(name, label, text) of each template, from `core.spec.templates()` (a mapping name -> text,
    or a sequence of (name, text) pairs or objects with `name`/`text`)."""
    if isinstance(templates, dict):
        items = list(templates.items())
    else:
        items = [(t[0], t[1]) if isinstance(t, (tuple, list)) else (t.name, getattr(t, "text", "")) for t in templates]
    result = []
    for name, value in items:
        text = value if isinstance(value, str) else getattr(value, "text", str(value))
        result.append((name, name, text))
    return result


def plan_text(plan: Any) -> Text:
    """The dry-run plan as the editor's plan pane shows it."""
    text = Text("Dry run\n", style="bold")
    rows = [("name", plan.name), ("cluster", f"{plan.cluster} ({plan.cluster_kind})"), ("preset", plan.preset or "-"),
            ("image", plan.image or "-"),
            ("resources", ", ".join(f"{k}={v}" for k, v in plan.resources.items()) or "-"),
            ("ports", ", ".join(map(str, plan.ports)) or "-"), ("volumes", ", ".join(plan.volumes) or "-"),
            ("env", ", ".join(f"{k}={v}" for k, v in plan.env.items()) or "-")]
    for key, value in rows:
        text.append(f"{key}: ", style="bold")
        text.append(f"{value}\n")
    text.append("commands:\n", style="bold")
    for command in plan.commands:
        text.append(f"  {command}\n")
    for warning in plan.warnings:
        text.append(f"warning: {warning}\n", style="yellow")
    return text


class EditorScreen(ReportsWorkerErrors, Screen):
    """Edit a spec with live problems, help and plan; submit it."""

    AREA = "editor"
    BINDINGS = [
        Binding("ctrl+s", "save", "Save", id="editor.save", tooltip="Save the spec"),
        Binding("ctrl+o", "open", "Open", id="editor.open", tooltip="Open a spec file"),
        Binding("ctrl+n", "new", "New", id="editor.new", tooltip="New spec from a template"),
        Binding("ctrl+r", "submit", "Run", id="editor.submit", tooltip="Submit the spec as a run"),
        Binding("ctrl+g", "plan", "Dry run", id="editor.plan", tooltip="Show the dry-run plan"),
        Binding("f1", "help", "Field help", id="editor.help", tooltip="Help for the field under the cursor"),
        Binding("f4", "problems", "Problems", id="editor.problems", tooltip="Focus the problems list"),
        Binding("escape", "back", "Back", id="editor.back", tooltip="Leave the editor", priority=True),
    ]

    class Checked(Message):
        """The spec text was validated (posted by the check worker)."""

        def __init__(self, text: str, documents: list) -> None:
            super().__init__()
            self.text = text
            self.documents = documents

    class Planned(Message):
        def __init__(self, plan: Any) -> None:
            super().__init__()
            self.plan = plan

    class Opened(Message):
        def __init__(self, path: Path, text: str) -> None:
            super().__init__()
            self.path = path
            self.text = text

    def __init__(self, path: str | Path | None = None, text: str = "") -> None:
        super().__init__()
        self.path: Path | None = Path(path).expanduser() if path else None
        self.initial_text = text
        self.saved_text = text
        self.kind: str | None = None
        self._timer: Timer | None = None
        self._help_path: str | None = None
        self._spec_api: Any = None

    def compose(self) -> ComposeResult:
        with Horizontal(id="editor-body"):
            yield TextArea.code_editor(self.initial_text, language="yaml", id="editor-text")
            with Vertical(id="editor-side"):
                yield ProblemsList(id="problems")
                yield Static("", id="field-help")
                yield Static("", id="plan", classes="hidden")
        yield KeyBar()

    @property
    def text_area(self) -> TextArea:
        return self.query_one("#editor-text", TextArea)

    def on_mount(self) -> None:
        self.query_one("#problems").border_title = "Problems"
        self.query_one("#field-help").border_title = "Field help"
        self.query_one("#plan").border_title = "Plan"
        self._title()
        self.text_area.focus()
        if self.path is not None and not self.initial_text:
            self._open(self.path)
        else:
            self._check(self.text_area.text, self._file_label())

    def _file_label(self) -> str:
        return self.path.name if self.path else "untitled.yaml"

    def _title(self) -> None:
        dirty = " ●" if self.text_area.text != self.saved_text else ""
        self.text_area.border_title = f"{self.path or 'untitled.yaml'}{dirty}"

    # --- checking as you type -------------------------------------------------------------------

    @on(TextArea.Changed, "#editor-text")
    def _changed(self) -> None:
        self._title()
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(CHECK_DELAY, lambda: self._check(self.text_area.text, self._file_label()))

    @work(thread=True, exclusive=True, group="editor-check", exit_on_error=False)
    def _check(self, text: str, file: str) -> None:
        import core.spec as spec_api

        self._spec_api = spec_api
        self.post_message(self.Checked(text, spec_api.load_text(text, file=file)))

    @on(Checked)
    def _checked(self, event: Checked) -> None:
        problems = [p for doc in event.documents for p in doc.problems]
        self.kind = next((doc.kind for doc in event.documents if doc.kind), None)
        problems_list = self.query_one(ProblemsList)
        problems_list.show(problems)
        errors = sum(1 for p in problems if p.severity == "error")
        problems_list.border_title = f"Problems ({len(problems)})" if problems else "Problems"
        problems_list.set_class(errors > 0, "-errors")
        self._show_help()

    @on(ProblemsList.Jump)
    def _jump(self, event: ProblemsList.Jump) -> None:
        self.text_area.cursor_location = (max(0, event.line - 1), max(0, event.column - 1))
        self.text_area.focus()

    @on(TextArea.SelectionChanged, "#editor-text")
    def _moved(self) -> None:
        self._show_help()

    def _show_help(self) -> None:
        if self._spec_api is None:
            return
        path = yaml_path_at(self.text_area.text, self.text_area.cursor_location[0])
        if path == self._help_path:
            return
        self._help_path = path
        help_text = self._spec_api.field_help(self.kind, path) if path and self.kind else None
        body = Text(f"{path}\n", style="bold") if path else Text()
        body.append(help_text or ("No help for this field." if path else "Move the cursor to a field."))
        self.query_one("#field-help", Static).update(body)

    # --- files ----------------------------------------------------------------------------------

    @work(thread=True, group="editor-file", exit_on_error=False)
    def _open(self, path: Path) -> None:
        """Read the file. The editor's own path (`vessl-tui edit NEW.yaml`) may not exist yet: it opens
        as a new, empty file that ctrl+s writes there; any other missing file is an error."""
        new = path == self.path and not path.exists()
        text = "" if new else path.read_text(encoding="utf-8")
        self.post_message(self.Opened(path, text))

    @on(Opened)
    def _opened(self, event: Opened) -> None:
        self.path, self.saved_text = event.path, event.text
        self.text_area.load_text(event.text)
        self._title()
        self._check(event.text, self._file_label())

    def _write(self, path: Path, text: str, create_folder: bool = False) -> None:
        """Blocking: write the text (called from workers); the folder is made only when asked
        (the user said yes, or it is the drafts folder in the home)."""
        if create_folder:
            path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")

    @work(thread=True, group="editor-file", exit_on_error=False)
    def _save(self, path: Path, text: str, create_folder: bool = False) -> None:
        self._write(path, text, create_folder)
        self.app.call_from_thread(self._saved, path, text)

    def _saved(self, path: Path, text: str) -> None:
        self.path, self.saved_text = path, text
        self._title()
        self.notify(f"Saved {path}.")

    def _target_path(self) -> Path:
        """Where submit and plan read the spec: the file, or a draft in the home folder."""
        return self.path or home_path() / "drafts" / "untitled.yaml"

    @work(thread=True, group="editor-engine", exit_on_error=False)
    def _submit(self, path: Path, text: str, revision: bool = False) -> None:
        """Save the buffer (submit runs the file, so the run's spec is the file's), then run it, or
        create a serve revision from it."""
        from core.spec.errors import SpecError

        self._write(path, text, create_folder=self.path is None)
        if self.path is not None:
            self.app.call_from_thread(self._saved, path, text)
        try:
            if revision:
                from core.serve.actions import ServeActions

                rev = ServeActions().create(str(path))
                self.app.call_from_thread(self.notify, f"Created revision {rev.service}:{rev.number} "
                                                       "(2 shows it; s starts it).")
                return
            run = self.app.engine.submit(str(path))
        except SpecError as exc:
            self._spec_problems(exc)
            return
        self.app.call_from_thread(self.notify, f"Submitted {run.name} ({run.id}) on {run.cluster}.")

    @work(thread=True, group="editor-engine", exit_on_error=False)
    def _plan(self, path: Path, text: str) -> None:
        """The dry-run plan of the buffer as it is now; nothing is written."""
        import core.spec as spec_api
        from core.spec.errors import SpecError

        documents = spec_api.load_text(text, file=str(path))
        errors = [p for doc in documents[:1] for p in doc.errors]
        try:
            if errors or not documents or documents[0].spec is None:
                raise SpecError(errors)
            self.post_message(self.Planned(self.app.engine.plan_spec(documents[0].spec)))
        except SpecError as exc:
            self._spec_problems(exc)

    def _spec_problems(self, exc: Exception) -> None:
        """From a worker: say that the spec has problems (they are in the problems list)."""
        problems = getattr(exc, "problems", None)
        first = problems[0].format() if problems else str(exc)
        self.app.call_from_thread(self.notify, f"The spec has problems: {first}", severity="error")

    @on(Planned)
    def _planned(self, event: Planned) -> None:
        plan = self.query_one("#plan", Static)
        plan.update(plan_text(event.plan))
        plan.remove_class("hidden")

    # --- actions --------------------------------------------------------------------------------

    def action_save(self) -> None:
        text = self.text_area.text
        if self.path is not None:
            self._save(self.path, text)
            return

        def answered(path: str | None) -> None:
            if path:
                write_after_asking(self, Path(path).expanduser(),
                                   lambda target, create: self._save(target, text, create))

        self.app.push_screen(PromptModal("Save the spec to", placeholder="spec.yaml", paths=True), answered)

    def action_open(self) -> None:
        def answered(path: str | None) -> None:
            if path:
                self._open(Path(path).expanduser())

        self.app.push_screen(PromptModal("Open a spec file", placeholder="spec.yaml", paths=True), answered)

    def action_new(self) -> None:
        self._load_templates()

    @work(thread=True, group="editor-file", exit_on_error=False)
    def _load_templates(self) -> None:
        import core.spec as spec_api

        choices = template_choices(spec_api.templates())
        self.app.call_from_thread(self._pick_template, choices)

    def _pick_template(self, choices: list[tuple[str, str, str]]) -> None:
        texts = {name: text for name, _, text in choices}

        def picked(name: str | None) -> None:
            if name:
                self.path, self.saved_text = None, ""
                self.text_area.load_text(texts[name])
                self._title()

        self.app.push_screen(ChoiceModal("New spec from a template", [(n, label) for n, label, _ in choices]), picked)

    def action_submit(self) -> None:
        from core.serve.models import SERVE_KINDS

        path, text = self._target_path(), self.text_area.text
        if self.kind not in SERVE_KINDS:
            self._submit(path, text)
            return

        def picked(choice: str | None) -> None:
            if choice == "revision":
                self._submit(path, text, revision=True)
            elif choice == "run":
                self._submit(path, text)

        self.app.push_screen(ChoiceModal("This spec is a service", [
            ("revision", "Create a revision (replicas behind the service's endpoint; start it from Revisions)"),
            ("run", "Run it once as a plain run")]), picked)

    def action_plan(self) -> None:
        plan = self.query_one("#plan", Static)
        if not plan.has_class("hidden"):
            plan.add_class("hidden")
            return
        self._plan(self._target_path(), self.text_area.text)

    def action_help(self) -> None:
        self.query_one("#field-help").toggle_class("hidden")

    def action_problems(self) -> None:
        problems = self.query_one(ProblemsList)
        (self.text_area if problems.has_focus else problems).focus()

    def action_back(self) -> None:
        if self.text_area.text == self.saved_text:
            self.app.pop_screen()
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.app.pop_screen()

        self.app.push_screen(ConfirmModal("Drop unsaved changes?", str(self.path or "untitled.yaml")), answered)
