"""Small modal asking which project a new conversation belongs to (default: the current one)."""

from __future__ import annotations

import re

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widgets import Input, Label, Static

_VALID = re.compile(r"^[\w.\- ]{1,64}$")


class ProjectPrompt(ModalScreen[str | None]):
    BINDINGS = [Binding("escape", "dismiss_prompt", "Close", id="forge.modal.close")]

    def __init__(self, current: str, projects: list[str]) -> None:
        super().__init__(classes="forge-modal")
        self.current = current
        self.projects = sorted(set(projects) | {current})

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-box", id="project-prompt"):
            yield Label("New conversation in project", classes="modal-title")
            yield Input(value=self.current, id="project-input", select_on_focus=True,
                        suggester=SuggestFromList(self.projects, case_sensitive=False))
            yield Static(f"Projects: {', '.join(self.projects)}", classes="modal-help", markup=False)
            yield Static("", id="project-error", classes="modal-error", markup=False)

    @on(Input.Submitted, "#project-input")
    def submitted(self, event: Input.Submitted) -> None:
        name = event.value.strip()
        if not _VALID.match(name):
            self.query_one("#project-error", Static).update(
                "A project name is 1–64 letters, digits, spaces, '.', '-' or '_'.")
            return
        self.dismiss(name)

    def action_dismiss_prompt(self) -> None:
        self.dismiss(None)
