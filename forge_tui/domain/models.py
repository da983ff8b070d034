"""Plain dataclasses for what Forge stores: conversations and their turns."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum
from typing import Any, Literal


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
    """Lifecycle of a turn. A user turn is ``complete`` as soon as it is written.

    ``truncated``: a reply stopped by ``max_reply_tokens`` or by the end of the model's
    context — its text is real but unfinished; the turn's ``error`` field says which.
    """

    STREAMING = "streaming"
    COMPLETE = "complete"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"
    ERROR = "error"
    TRUNCATED = "truncated"

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
    #: the turn this one follows (the conversation's id for a first turn); ``None``: the turn stored just
    #: before it (every turn written before branching existed, and importers, leave it unset)
    parent_id: str | None = None


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
    #: the conversation's own system prompt; ``None`` follows its project's default (if any)
    system_prompt: str | None = None
    #: the last turn of the branch on show (``None``: the newest turn, as before branching existed)
    head: str | None = None

    @property
    def in_trash(self) -> bool:
        return self.trashed_at is not None


#: the longest system prompt Forge stores (the archive header holds it too)
SYSTEM_PROMPT_MAX_CHARS = 20_000

SystemPromptLevel = Literal["conversation", "project"]


@dataclass(frozen=True)
class SystemPrompt:
    """The system prompt a conversation runs under, and the level it comes from."""

    text: str
    level: SystemPromptLevel

    @property
    def first_line(self) -> str:
        return next((line.strip() for line in self.text.splitlines() if line.strip()), "")


def clean_system_prompt(text: str | None) -> str | None:
    """A system prompt as stored: trailing blanks trimmed, ``None`` when blank (blank clears it).
    Longer than ``SYSTEM_PROMPT_MAX_CHARS``: a ``ValueError`` that says how long it may be."""
    if text is None:
        return None
    cleaned = "\n".join(line.rstrip() for line in text.strip().splitlines())
    if not cleaned:
        return None
    if len(cleaned) > SYSTEM_PROMPT_MAX_CHARS:
        raise ValueError(f"the system prompt has {len(cleaned):,} characters; keep it under "
                         f"{SYSTEM_PROMPT_MAX_CHARS:,}")
    return cleaned


def effective_system_prompt(conversation: Conversation | None, project_prompt: str | None) -> SystemPrompt | None:
    """The conversation's own prompt, else its project's default, else ``None`` (Forge's built-in one)."""
    if conversation is not None and conversation.system_prompt:
        return SystemPrompt(conversation.system_prompt, "conversation")
    if project_prompt:
        return SystemPrompt(project_prompt, "project")
    return None
