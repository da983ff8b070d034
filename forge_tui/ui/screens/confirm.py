"""A yes/no question (e.g. auto-compress when the context is nearly full, in "ask" mode)."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static


class ConfirmModal(ModalScreen[bool]):
    BINDINGS = [Binding("escape", "answer_no", "No", id="forge.modal.close")]

    def __init__(self, title: str, question: str, yes: str = "Yes", no: str = "Not now") -> None:
        super().__init__(classes="forge-modal")
        self.title_text, self.question, self.yes, self.no = title, question, yes, no

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-box", id="confirm"):
            yield Label(self.title_text, classes="modal-title")
            yield Static(self.question, markup=False)
            with Horizontal(classes="modal-buttons"):
                yield Button(self.yes, id="yes", variant="primary")
                yield Button(self.no, id="no")

    @on(Button.Pressed)
    def answered(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer_no(self) -> None:
        self.dismiss(False)
