"""What the session layer tells the UI: one frozen dataclass per event, past tense.

Emitted from worker threads; ``ui/bridge.py`` carries every one into Textual in
one message type and the screen dispatches on the event's type. Events about a
conversation carry its id, so the UI ignores those for a conversation it no
longer shows. ``StateChanged`` carries the whole ``SessionState`` snapshot the
UI binds; the other events describe things that happened (a turn written, a
piece of a reply written, an archive ready).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from forge_tui.domain.models import Conversation, Turn
from forge_tui.session.budget import Overflow
from forge_tui.session.state import SessionState

Level = Literal["information", "warning", "error"]


class Event:
    """Base class of every session event."""


class ConversationEvent(Event):
    """An event about one conversation: the UI drops it unless it shows that conversation."""

    conversation_id: str


@dataclass(frozen=True)
class StateChanged(Event):
    """The controller's state after a change (the UI binds it)."""

    state: SessionState


@dataclass(frozen=True)
class Notice(Event):
    message: str
    level: Level = "information"


@dataclass(frozen=True)
class ConversationsListed(Event):
    conversations: list[Conversation]


# -- the open conversation --------------------------------------------------------------
@dataclass(frozen=True)
class ConversationOpened(Event):
    """The pane now shows ``conversation`` (a new one has no turns and is not stored yet)."""

    conversation: Conversation
    turns: list[Turn]
    focus_turn_id: str | None = None

    @property
    def conversation_id(self) -> str:
        return self.conversation.id


@dataclass(frozen=True)
class TurnPersisted(ConversationEvent):
    """A user turn is in the store (written before its reply is)."""

    conversation_id: str
    turn: Turn


@dataclass(frozen=True)
class ReplyStarted(ConversationEvent):
    """The assistant's turn is in the store with status ``streaming``."""

    conversation_id: str
    turn: Turn


@dataclass(frozen=True)
class ReplyChunk(ConversationEvent):
    """Text of a streaming reply that is now in the store (shown only once written)."""

    conversation_id: str
    turn_id: str
    text: str


@dataclass(frozen=True)
class ReplyFinished(ConversationEvent):
    """The reply's final text and status are in the store."""

    conversation_id: str
    turn: Turn
    finish: str
    message: str | None = None


@dataclass(frozen=True)
class BranchShown(ConversationEvent):
    """The open conversation shows another branch (a version browsed, a reply regenerated, a message
    edited): ``turns`` is the whole branch, first turn first; the pane replaces what follows the fork."""

    conversation_id: str
    turns: list[Turn]
    branches: dict[str, tuple[str, ...]]
    focus_turn_id: str | None = None


@dataclass(frozen=True)
class BranchesChanged(ConversationEvent):
    """Where the open conversation has several versions: parent id -> the versions' ids, oldest first."""

    conversation_id: str
    branches: dict[str, tuple[str, ...]]


@dataclass(frozen=True)
class ContextOverflowed(ConversationEvent):
    """A message was held back, unsent and unwritten: with it the prompt would not fit the model's
    context. The UI asks: compress and continue, leave out the oldest turns for this request, or cancel."""

    conversation_id: str
    overflow: Overflow


@dataclass(frozen=True)
class MessagesReturned(Event):
    """Typed messages that will not be sent after all (a queued one cancelled, an overflowing one
    cancelled, the conversation switched): their text goes back into the prompt, never lost.
    Not dropped when the pane has moved on to another conversation: the prompt is the same."""

    conversation_id: str
    texts: tuple[str, ...]
    reason: str


# -- archives -----------------------------------------------------------------------------
@dataclass(frozen=True)
class ArchiveStarted(ConversationEvent):
    conversation_id: str
    mode: str


@dataclass(frozen=True)
class ArchivePiece(ConversationEvent):
    """YAML of the archive as the model writes it."""

    conversation_id: str
    text: str


@dataclass(frozen=True)
class ArchiveProgressed(ConversationEvent):
    """A long compression's progress: ``stage`` is ``extract`` (turns read) or ``wording`` (the model)."""

    conversation_id: str
    stage: str
    done: int
    total: int


@dataclass(frozen=True)
class ArchiveDrafted(ConversationEvent):
    """The rule-based archive, valid already, shown while the model adds its wording."""

    conversation_id: str
    yaml: str


@dataclass(frozen=True)
class ArchiveReady(ConversationEvent):
    conversation_id: str
    archive_id: str
    yaml: str
    tokens_source: int
    tokens_archive: int
    mode: str
    dropped: list[str] = field(default_factory=list)
    note: str = ""  # why the archive is the rule-based one (no model ready, or the model's answer unusable)


@dataclass(frozen=True)
class ArchiveLoaded(ConversationEvent):
    """The archive of the conversation just opened, for the archive pane to follow: its latest
    own archive, else the one it continues from (``continued_from``); ``archive_id`` None: none."""

    conversation_id: str
    archive_id: str | None
    yaml: str = ""
    tokens_source: int = 0
    tokens_archive: int = 0
    mode: str = ""
    continued_from: bool = False


@dataclass(frozen=True)
class ArchiveFailed(ConversationEvent):
    conversation_id: str
    message: str
    partial: str = ""


@dataclass(frozen=True)
class ArchivePasted(ConversationEvent):
    """Archives pasted into a user turn: linked ids, and why others were not linked."""

    conversation_id: str
    linked: list[str]
    invalid: list[str]


@dataclass(frozen=True)
class AutoCompressSuggested(ConversationEvent):
    conversation_id: str
    used: int
    n_ctx: int


@dataclass(frozen=True)
class LineageListed(Event):
    """``compression.lineage.lineage``: id, type, ancestors, descendants."""

    node: str
    node_type: str
    ancestors: list[dict[str, Any]]
    descendants: list[dict[str, Any]]
    titles: dict[str, str] = field(default_factory=dict)


# -- knowledge and search ----------------------------------------------------------------
@dataclass(frozen=True)
class KnowledgeChanged(Event):
    """The sidebar's view of one project (``knowledge.view.knowledge_view``)."""

    project: str
    view: dict[str, Any]


@dataclass(frozen=True)
class KnowledgeCorrected(Event):
    """A hand correction landed in ``project``'s registry (a ``KnowledgeChanged`` for it follows)."""

    project: str
    action: str  # "pinned" | "dismissed" | "edited"
    item_id: str  # D### or T###
    text: str  # the item's wording after the change


@dataclass(frozen=True)
class SearchResults(Event):
    query: str
    hits: list[dict[str, Any]]
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    semantic: bool = False


@dataclass(frozen=True)
class ContextOffered(ConversationEvent):
    """Context retrieved for a conversation's opening (``ContextItem`` fields + ``kept``)."""

    conversation_id: str
    items: list[dict[str, Any]]
    budget: int


# -- training ---------------------------------------------------------------------------
@dataclass(frozen=True)
class TrainingProgressed(Event):
    """A background LoRA training run: a status line, or a finished step (``total`` > 0)."""

    task: str
    text: str
    step: int = 0
    total: int = 0
    loss: float = 0.0
    eta_s: float = 0.0


@dataclass(frozen=True)
class TrainingFinished(Event):
    task: str
    message: str
    ok: bool  # False: failed or stopped (the message says which, and how to go on)


# -- conversation management ------------------------------------------------------------
@dataclass(frozen=True)
class TrashListed(Event):
    """The conversations in the trash (newest deletion first), for the restore picker."""

    conversations: list[Conversation]


# -- system prompts and export ------------------------------------------------------------
# These name their conversation but are not ``ConversationEvent``s: they may be about the one
# highlighted in the list rather than the one the pane shows, and the UI answers them either way.
@dataclass(frozen=True)
class SystemPromptSet(Event):
    """A system prompt was stored (``text``) or cleared (``None``): a conversation's own
    (``level`` "conversation"), or the default of ``project`` (``level`` "project"; the event
    names the open conversation, which follows it unless it has its own)."""

    conversation_id: str
    level: str
    project: str
    text: str | None


@dataclass(frozen=True)
class ExportOffered(Event):
    """What "Export conversation…"/"Export archive…" would write: ``target_id`` (the conversation
    or the archive), a ``label`` for the screen, the formats it can be written in, and a file
    name without its extension (the screen adds the chosen format's)."""

    conversation_id: str
    kind: str  # "conversation" | "archive"
    target_id: str
    label: str
    formats: tuple[str, ...]
    suggested_stem: str


@dataclass(frozen=True)
class ExportWritten(Event):
    """An export landed at ``path`` (a 0600 file), written by the same code as ``forge export``."""

    conversation_id: str
    kind: str
    target_id: str
    fmt: str
    path: str
