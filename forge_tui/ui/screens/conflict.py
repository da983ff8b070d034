"""Modal for an ambiguous decision conflict: keep both, supersede, or reject the new one.
A cross-project clash is shown but cannot be superseded (decisions never cross projects)."""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static


class ConflictModal(ModalScreen[str | None]):
    BINDINGS = [Binding("escape", "dismiss_modal", "Close", id="forge.modal.close")]

    def __init__(self, conflict: dict[str, Any], new_text: str = "", existing_text: str = "") -> None:
        super().__init__(classes="forge-modal")
        self.conflict = conflict
        self.new_text = new_text
        self.existing_text = existing_text

    def compose(self) -> ComposeResult:
        c = self.conflict
        cross = c.get("kind") == "cross_project"
        can_supersede = not cross and "supersede" in c.get("choices", ["supersede"])
        existing_ref = c.get("existing", "?")
        if c.get("existing_project") and c.get("existing_project") != c.get("project"):
            existing_ref = f"{c['existing_project']}/{existing_ref}"
        with Vertical(classes="modal-box", id="conflict-modal"):
            yield Label(f"Conflict {c.get('id', '')}: {c.get('new', '?')} vs {existing_ref}", classes="modal-title")
            yield Static(f"New ({c.get('new', '?')}): {self.new_text or '—'}", classes="conflict-new", markup=False)
            yield Static(f"Existing ({existing_ref}): {self.existing_text or '—'}", classes="conflict-old",
                         markup=False)
            if c.get("reason"):
                yield Static(f"Why: {c['reason']}", classes="modal-help", markup=False)
            if cross:
                yield Static("Different projects: the new decision cannot supersede the other one.",
                             classes="modal-error")
            with Horizontal(classes="modal-buttons"):
                yield Button("Keep both", id="keep_both", variant="primary")
                yield Button("Supersede", id="supersede", variant="warning", disabled=not can_supersede)
                yield Button("Reject new", id="reject", variant="error")

    @on(Button.Pressed)
    def chosen(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id)

    def action_dismiss_modal(self) -> None:
        self.dismiss(None)
