"""Plain dataclasses for what Forge stores: conversations and their turns."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum
from typing import Any


def utcnow() -> datetime:
    """Timezone-aware now, truncated to milliseconds (BSON dates hold ms)."""
    now = datetime.now(timezone.utc)
    return now.replace(microsecond=(now.microsecond // 1000) * 1000)


class Task(str, Enum):
    """What a generation is for; each task may have its own LoRA adapter (``adapters.TASK`` in models.toml)."""

    CHAT = "chat"
    COMPRESSION = "compression"
    DECISIONS = "decisions"
    CODE = "code"


class Role(str, Enum):
    SYSTEM = "system"
    USER = "user"
    ASSISTANT = "assistant"


class TurnStatus(str, Enum):
    """Lifecycle of a turn. A user turn is ``complete`` as soon as it is written."""

    STREAMING = "streaming"
    COMPLETE = "complete"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"
    ERROR = "error"

    @property
    def is_open(self) -> bool:
        return self is TurnStatus.STREAMING


DEFAULT_PROJECT = "default"


@dataclass
class Turn:
    id: str
    conversation_id: str
    seq: int
    role: Role
    content: str
    status: TurnStatus = TurnStatus.COMPLETE
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)
    model: str | None = None
    tokens: int | None = None
    error: str | None = None
    labels: list[str] = field(default_factory=list)
    source: dict[str, Any] | None = None
    #: the engine kind that produced an assistant turn (llama, openai, anthropic)
    engine: str | None = None
    #: token usage of an assistant turn: prompt, completion, cache_read, cache_write (server-reported or counted)
    usage: dict[str, int] | None = None
    adapter: str | None = None  # the LoRA adapter that produced an assistant turn, if any


#: the project a deleted conversation shows under; parentheses keep it apart from any
#: project a user can name (names are letters, digits, spaces, '.', '-' and '_')
TRASH_PROJECT = "(trash)"
#: how long a deleted conversation stays restorable before a purge removes it
TRASH_KEEP_DAYS = 30


@dataclass
class Conversation:
    id: str
    project: str
    title: str
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)
    model: str | None = None
    turn_count: int = 0
    archive_context: str | None = None  # archive id this conversation continues from
    source: dict[str, Any] | None = None
    #: context retrieved for this conversation (decisions, constraints, excerpts); ``kept`` ones reach the model
    context_items: list[dict[str, Any]] = field(default_factory=list)
    #: when it was moved to the trash (``None``: not trashed) and the project it came from
    trashed_at: datetime | None = None
    trashed_from: str | None = None

    @property
    def in_trash(self) -> bool:
        return self.trashed_at is not None
