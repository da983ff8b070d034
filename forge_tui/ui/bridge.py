"""The one facade between the session layer and Textual.

``SessionController`` emits plain events from worker threads; ``Bridge.emit``
wraps each in a ``SessionEventPosted`` and posts it to the hub (the main
screen); ``post_message`` is thread-safe. Pieces of a reply or an archive are
coalesced into the message still waiting in the queue.
"""

from __future__ import annotations

import threading

from textual.message_pump import MessagePump

from forge_tui.session import events as ev
from forge_tui.ui.messages import PIECES, SessionEventPosted


class Bridge:
    """Posts session events to a target message pump; safe to call from any thread."""

    def __init__(self) -> None:
        self._target: MessagePump | None = None
        self._early: list[ev.Event] = []
        self._lock = threading.Lock()
        self._open: SessionEventPosted | None = None

    def attach(self, target: MessagePump) -> None:
        """Start delivering to ``target``; events emitted before are delivered now, in order."""
        with self._lock:
            self._target = target
            early, self._early = self._early, []
        for event in early:
            self.emit(event)

    def emit(self, event: ev.Event) -> None:
        with self._lock:
            target = self._target
            if target is None:
                self._early.append(event)
                return
            if isinstance(event, PIECES) and self._open is not None and self._open.add(event):
                return
            message = SessionEventPosted(event)
            self._open = message if isinstance(event, PIECES) else None
            # posted under the lock so the queue order is the emit order
            target.post_message(message)
