"""The one facade between the session layer and Textual.

``SessionController`` emits plain events from worker threads; ``Bridge.emit``
turns each into a Textual message and posts it to the hub (the main screen).
``post_message`` is thread-safe. Reply pieces are coalesced: while a
``ReplyStreamed`` message waits in the queue, new pieces are appended to it
instead of posting another message.
"""

from __future__ import annotations

import logging
import threading
from typing import Callable

from textual.message import Message
from textual.message_pump import MessagePump

from forge_tui.session import events as ev
from forge_tui.ui import messages as msg

log = logging.getLogger(__name__)

#: event type -> factory of its Textual message (everything except reply pieces)
_CONVERT: dict[type, Callable[[ev.Event], Message]] = {
    ev.StoreConnected: lambda e: msg.StoreConnected(e.uri_label),
    ev.StoreFailed: lambda e: msg.StoreFailed(e.message),
    ev.ModelLoading: lambda e: msg.ModelLoading(e.name),
    ev.ModelReady: lambda e: msg.ModelReady(e.name, e.n_ctx, e.load_s),
    ev.ModelFailed: lambda e: msg.ModelFailed(e.name, e.message),
    ev.ConversationsListed: lambda e: msg.ConversationsListed(list(e.conversations), e.current_id),
    ev.ConversationOpened: lambda e: msg.ConversationOpened(e.conversation, list(e.turns), e.focus_turn_id),
    ev.TurnPersisted: lambda e: msg.TurnPersisted(e.turn),
    ev.ReplyStarted: lambda e: msg.ReplyStarted(e.turn),
    ev.ReplyFinished: lambda e: msg.ReplyFinished(e.turn, e.finish, e.message),
    ev.TokensCounted: lambda e: msg.TokensCounted(e.used, e.n_ctx),
    ev.Notice: lambda e: msg.NoticePosted(e.message, e.level),
    ev.FeatureEvent: lambda e: msg.FeatureUpdated(e.kind, dict(e.payload)),
    ev.TrainingProgressed: lambda e: msg.TrainingProgressed(training_label(e)),
    ev.TrainingFinished: lambda e: msg.TrainingFinished(f"Training {e.task}: {e.message}", e.ok),
}


def training_label(event: ev.TrainingProgressed) -> str:
    if not event.total:
        return f"training {event.task} · {event.text}"[:120]
    eta = "" if event.eta_s != event.eta_s else f" · ETA {int(event.eta_s) // 60}m{int(event.eta_s) % 60:02d}s"
    return f"training {event.task} · {event.step}/{event.total} · loss {event.loss:.3f}{eta}"


class Bridge:
    """Posts session events to a target message pump; safe to call from any thread."""

    def __init__(self) -> None:
        self._target: MessagePump | None = None
        self._early: list[ev.Event] = []
        self._lock = threading.Lock()
        self._open_chunk: msg.ReplyStreamed | None = None
        self._open_archive: msg.ArchiveStreamed | None = None

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
            if isinstance(event, ev.ReplyChunk):
                open_chunk = self._open_chunk
                if open_chunk is not None and open_chunk.turn_id == event.turn_id and open_chunk.add(event.text):
                    return
                message: Message = msg.ReplyStreamed(event.turn_id)
                message.add(event.text)
                self._open_chunk = message
            elif isinstance(event, ev.FeatureEvent) and event.kind == "archive_piece":
                text = str(event.payload.get("text", ""))
                if self._open_archive is not None and self._open_archive.add(text):
                    return
                message = self._open_archive = msg.ArchiveStreamed()
                message.add(text)
            else:
                convert = _CONVERT.get(type(event))
                if convert is None:
                    log.warning("no UI message for session event %s", type(event).__name__)
                    return
                message = convert(event)
                if isinstance(event, ev.ReplyFinished):
                    self._open_chunk = None
                elif isinstance(event, ev.FeatureEvent) and event.kind.startswith("archive_"):
                    self._open_archive = None
            # posted under the lock so the queue order is the emit order
            target.post_message(message)
