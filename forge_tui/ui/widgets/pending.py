"""A queued message, shown as a pending turn below the reply it waits for.

It mirrors one ``QueuedMessage`` of the session state (the screen keeps the
pending turns in step with ``SessionState.queued_messages``). Focused (click or
Tab), Esc or Delete asks to cancel it: it posts ``CancelRequested`` and the
screen asks the controller, which hands the text back to the prompt.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Static

from forge_tui.session.state import QueuedMessage

#: characters of a queued message shown (a huge paste is summarised)
SHOWN_CHARS = 600


class PendingTurnView(Vertical, can_focus=True):
    BINDINGS = [Binding("escape,delete", "cancel_queued", "Cancel queued", id="forge.queued.cancel")]

    @dataclass
    class CancelRequested(Message):
        view: "PendingTurnView"
        message_id: str

        @property
        def control(self) -> "PendingTurnView":
            return self.view

    def __init__(self, message: QueuedMessage, when: str = "when the reply ends") -> None:
        super().__init__(classes="turn -user -queued")
        self.message = message
        self.when = when

    def compose(self) -> ComposeResult:
        text = self.message.text
        if len(text) > SHOWN_CHARS:
            text = text[:SHOWN_CHARS] + f"… ({len(self.message.text):,} characters in all)"
        yield Static("You  [queued]", classes="turn-header", markup=False)
        yield Static(text, classes="turn-body queued-body", markup=False)
        yield Static(self._note(), classes="turn-note", markup=False)

    def _note(self) -> str:
        return f"Sent {self.when} · Esc or Del here cancels it"

    def waiting_for(self, when: str) -> None:
        """What the message waits for (the reply, the database) changed."""
        if when != self.when:
            self.when = when
            self.query_one(".turn-note", Static).update(self._note())

    def action_cancel_queued(self) -> None:
        self.post_message(self.CancelRequested(self, self.message.id))
