"""Events the SessionController emits. Plain dataclasses, past tense; the UI
bridge turns each into a Textual message. Emitted from worker threads."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from forge_tui.domain.models import Conversation, Turn


class Event:
    """Base class of every session event."""


@dataclass
class StoreConnected(Event):
    uri_label: str


@dataclass
class StoreFailed(Event):
    message: str


@dataclass
class ModelLoading(Event):
    name: str


@dataclass
class ModelReady(Event):
    name: str
    n_ctx: int
    load_s: float


@dataclass
class ModelFailed(Event):
    name: str
    message: str


@dataclass
class ConversationsListed(Event):
    conversations: list[Conversation]
    current_id: str | None = None


@dataclass
class ConversationOpened(Event):
    conversation: Conversation
    turns: list[Turn]
    focus_turn_id: str | None = None


@dataclass
class TurnPersisted(Event):
    """A user turn is in the store (written before generation starts)."""

    turn: Turn


@dataclass
class ReplyStarted(Event):
    turn: Turn


@dataclass
class ReplyChunk(Event):
    turn_id: str
    text: str


@dataclass
class ReplyFinished(Event):
    turn: Turn
    finish: str
    message: str | None = None


@dataclass
class TokensCounted(Event):
    used: int
    n_ctx: int


@dataclass
class Notice(Event):
    message: str
    level: str = "information"  # information | warning | error


@dataclass
class FeatureEvent(Event):
    """Events from feature services (archives, knowledge, search) with a kind and payload."""

    kind: str
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass
class TrainingProgressed(Event):
    """A background LoRA training run: a status line, or a finished step (``total`` > 0)."""

    task: str
    text: str
    step: int = 0
    total: int = 0
    loss: float = 0.0
    eta_s: float = 0.0


@dataclass
class TrainingFinished(Event):
    task: str
    message: str
    ok: bool  # False: failed or stopped (the message says which, and how to go on)
