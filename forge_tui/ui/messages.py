"""The one Textual message that carries session events into the UI.

``SessionEventPosted`` wraps any ``forge_tui.session.events.Event``; the main
screen dispatches on the event's type. Bursts coalesce: a newer ``StateChanged``
or ``ConversationsListed`` (or ``KnowledgeChanged`` for the same project)
replaces a pending one, and while a message with reply or archive pieces waits
in the queue the bridge appends new pieces to it instead of posting another.
"""

from __future__ import annotations

import dataclasses
import threading

from textual.message import Message

from forge_tui.session import events as ev

#: event types where only the newest pending one matters
_LATEST_WINS = (ev.StateChanged, ev.ConversationsListed, ev.TrainingProgressed)
#: event types whose text accumulates while the message waits
PIECES = (ev.ReplyChunk, ev.ArchivePiece)


class SessionEventPosted(Message, bubble=False):
    def __init__(self, event: ev.Event) -> None:
        super().__init__()
        self._event = event
        self._lock = threading.Lock()
        self._more: list[str] = []
        self._taken = False

    @property
    def event(self) -> ev.Event:
        """The event; for pieces, with every piece appended while it waited."""
        event = self._event
        with self._lock:
            self._taken = True
            if self._more and isinstance(event, PIECES):
                return dataclasses.replace(event, text=event.text + "".join(self._more))
        return event

    @property
    def event_type(self) -> type:
        """The event's type, without taking its pieces."""
        return type(self._event)

    def add(self, event: ev.Event) -> bool:
        """Append ``event``'s text if it continues this message's pieces and the UI has not
        taken them yet; False means post a new message."""
        first = self._event
        if not isinstance(event, PIECES) or type(event) is not type(first):
            return False
        if isinstance(event, ev.ReplyChunk) and isinstance(first, ev.ReplyChunk) and event.turn_id != first.turn_id:
            return False
        with self._lock:
            if self._taken:
                return False
            self._more.append(event.text)
            return True

    def can_replace(self, message: Message) -> bool:
        if not isinstance(message, SessionEventPosted):
            return False
        mine, theirs = self._event, message._event
        if isinstance(mine, _LATEST_WINS):
            return type(mine) is type(theirs)
        if isinstance(mine, ev.KnowledgeChanged) and isinstance(theirs, ev.KnowledgeChanged):
            return mine.project == theirs.project
        return False
