"""Textual messages for session events: one per event, past tense.

The bridge (``ui/bridge.py``) creates them from the controller's plain events.
Bursty ones coalesce: a newer ``TokensCounted`` or ``ConversationsListed``
replaces a pending one, and reply pieces accumulate into one pending
``ReplyStreamed`` until the UI takes them.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from textual.message import Message

from forge_tui.domain.models import Conversation, Turn


#: feature kinds where only the newest pending message matters
COALESCED_KINDS = frozenset({"knowledge_changed"})


class SessionMessage(Message, bubble=False):
    """Base of every message that carries a session event (dataclass subclasses:
    ``Message.__post_init__`` initialises the message machinery)."""


@dataclass
class StoreConnected(SessionMessage):
    uri_label: str


@dataclass
class StoreFailed(SessionMessage):
    message: str


@dataclass
class ModelLoading(SessionMessage):
    name: str


@dataclass
class ModelReady(SessionMessage):
    name: str
    n_ctx: int
    load_s: float


@dataclass
class ModelFailed(SessionMessage):
    name: str
    message: str


@dataclass
class ConversationsListed(SessionMessage):
    conversations: list[Conversation]
    current_id: str | None = None

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, ConversationsListed)


@dataclass
class ConversationOpened(SessionMessage):
    conversation: Conversation
    turns: list[Turn]
    focus_turn_id: str | None = None


@dataclass
class TurnPersisted(SessionMessage):
    turn: Turn


@dataclass
class ReplyStarted(SessionMessage):
    turn: Turn


class _Pieces:
    """While a message with pieces waits in the queue the bridge keeps appending
    to it, so a burst of tokens is one UI update."""

    _pieces: list[str]
    _lock: threading.Lock
    _taken: bool

    def add(self, piece: str) -> bool:
        """Append a piece; False once the UI has taken the text (post a new message then)."""
        with self._lock:
            if self._taken:
                return False
            self._pieces.append(piece)
            return True

    def take(self) -> str:
        with self._lock:
            self._taken = True
            return "".join(self._pieces)


@dataclass
class ReplyStreamed(_Pieces, SessionMessage):
    """Pieces of a streaming reply."""

    turn_id: str
    _pieces: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _taken: bool = False


@dataclass
class ArchiveStreamed(_Pieces, SessionMessage):
    """Pieces of the archive YAML being generated (``archive_piece`` feature events)."""

    _pieces: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _taken: bool = False


@dataclass
class ReplyFinished(SessionMessage):
    turn: Turn
    finish: str
    message: str | None = None


@dataclass
class TokensCounted(SessionMessage):
    used: int
    n_ctx: int

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, TokensCounted)


@dataclass
class NoticePosted(SessionMessage):
    message: str
    level: str = "information"


@dataclass
class FeatureUpdated(SessionMessage):
    """An event from a feature service (archives, knowledge, search)."""

    kind: str
    payload: dict[str, Any] = field(default_factory=dict)

    def can_replace(self, message: Message) -> bool:
        # a burst of knowledge refreshes repaints once; other kinds are kept in order
        return (
            isinstance(message, FeatureUpdated)
            and message.kind == self.kind
            and self.kind in COALESCED_KINDS
        )


@dataclass
class TrainingProgressed(SessionMessage):
    """A background LoRA training run moved on: ``label`` is the sidebar's status line."""

    label: str

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, TrainingProgressed)  # only the newest step matters


@dataclass
class TrainingFinished(SessionMessage):
    message: str
    ok: bool
