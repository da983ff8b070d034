"""Waiting messages on the main screen: queued turns, the overflow dialog, text handed back.

Mixed into ``MainScreen``. The pending turns and the context banner follow the
controller's ``SessionState`` (``queued_messages``, ``context_note``); the dialog
opens for ``ContextOverflowed`` and answers through ``resolve_overflow``; text the
session will not send after all (``MessagesReturned``) goes back into the prompt.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Awaitable, Callable

from forge_tui.session import events as ev
from forge_tui.session.state import SessionState
from forge_tui.ui.screens.overflow import OverflowModal
from forge_tui.ui.widgets.conversation import ConversationView
from forge_tui.ui.widgets.pending import PendingTurnView
from forge_tui.ui.widgets.prompt import PromptInput

if TYPE_CHECKING:
    from forge_tui.session.controller import SessionController
    from forge_tui.ui.widgets.banner import Banner


class WaitingHandlers:
    """Needs ``self.controller``, ``self.state``, ``self.banner``, ``self.app``, ``self.notify``, ``self.query_one``."""

    controller: "SessionController"
    state: SessionState
    banner: "Banner"
    _queued_when = ""

    def waiting_handlers(self) -> dict[type, Callable[[Any], Awaitable[None] | None]]:
        return {
            ev.ContextOverflowed: self._context_overflowed,
            ev.MessagesReturned: self._messages_returned,
        }

    def show_waiting(self, state: SessionState) -> None:
        """From ``StateChanged``: the context banner and the pending turns."""
        if state.context_note:
            self.banner.show("context", state.context_note, "warning")
        else:
            self.banner.clear("context")
        view = self.query_one(ConversationView)  # type: ignore[attr-defined]
        when = "when the database answers" if state.store_status != "connected" else (
            "when the reply ends" if state.busy or state.overflow is None else "once the held message is settled")
        if view.queued_ids != [m.id for m in state.queued_messages] or when != self._queued_when:
            self._queued_when = when
            self.call_later(view.show_queued, list(state.queued_messages), when)  # type: ignore[attr-defined]

    def _context_overflowed(self, event: ev.ContextOverflowed) -> None:
        def answered(choice: str | None) -> None:
            self.controller.resolve_overflow(choice or "cancel")

        self.app.push_screen(OverflowModal(event.overflow), answered)  # type: ignore[attr-defined]

    def _messages_returned(self, event: ev.MessagesReturned) -> None:
        prompt = self.query_one(PromptInput)  # type: ignore[attr-defined]
        for text in event.texts:
            prompt.restore_text(text)
        prompt.focus()
        self.notify(event.reason, severity="information")  # type: ignore[attr-defined]

    def on_pending_turn_view_cancel_requested(self, event: PendingTurnView.CancelRequested) -> None:
        event.stop()
        self.controller.cancel_queued(event.message_id)

    def action_cancel_queued(self) -> None:
        """Palette: cancel the focused queued message, else the newest one."""
        focused = self.app.focused  # type: ignore[attr-defined]
        if isinstance(focused, PendingTurnView):
            self.controller.cancel_queued(focused.message.id)
        elif not self.state.queued_messages:
            self.notify("No message is waiting to be sent.")  # type: ignore[attr-defined]
        else:
            self.controller.cancel_queued(self.state.queued_messages[-1].id)
