"""``SessionState``: the one immutable snapshot of a session the UI binds.

The controller owns the live values (changed only on its worker thread) and
publishes a new snapshot after each change; nothing else holds a second copy of
"busy", the model, the token count or the store's health.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Literal

from forge_tui.domain.models import DEFAULT_PROJECT, Conversation, SystemPrompt, Turn
from forge_tui.engine.base import KnowledgeEngine
from forge_tui.session.budget import Overflow

#: what holds the engine: nothing, a reply, or a compression
Activity = Literal["idle", "reply", "compression"]
ModelStatus = Literal["loading", "ready", "failed"]
#: connecting (start-up), connected, lost (noticed dead; recovering), failed (gave up: ctrl+r)
StoreStatus = Literal["connecting", "connected", "lost", "failed"]


@dataclass(frozen=True)
class QueuedMessage:
    """A message typed while a reply ran (or the database was away): sent, in order, when it can be."""

    id: str
    text: str
    system: str | None = None


@dataclass(frozen=True)
class SessionState:
    project: str
    conversation: Conversation | None = None  # None only before the first conversation is set up
    turns: tuple[Turn, ...] = ()
    activity: Activity = "idle"
    model: str = ""
    model_status: ModelStatus = "loading"
    model_message: str | None = None
    tokens_used: int = 0
    n_ctx: int = 0
    store_status: StoreStatus = "connecting"
    store_label: str = ""
    store_message: str | None = None
    #: writes held in memory until the store answers again
    pending_writes: int = 0
    #: messages typed while a reply ran or the store was away, sent in order when it can be
    queued_messages: tuple[QueuedMessage, ...] = field(default_factory=tuple)
    #: a message held back because it would not fit the context (the UI asks what to do)
    overflow: Overflow | None = None
    #: why the context is a problem right now (a prompt that did not fit, a reply stopped by
    #: the end of the context); None once it no longer applies
    context_note: str | None = None
    #: what the open conversation runs under (its own prompt or its project's); None: Forge's built-in one
    system_prompt: SystemPrompt | None = None
    #: the default system prompt of ``project`` (what a conversation without its own follows)
    project_system_prompt: str | None = None

    @property
    def busy(self) -> bool:
        return self.activity != "idle"

    @property
    def conversation_id(self) -> str | None:
        return self.conversation.id if self.conversation else None


class SessionView:
    """What threads other than the session's read of it: the last published ``SessionState`` and
    the engine of the moment (the turn pipeline yields while the session is busy, background
    extraction and the router follow the current model).

    The composition root builds one before the controller and the services that read it, and
    passes it to each; only the controller publishes into it. Reads never block on the session.
    """

    def __init__(self, project: str = DEFAULT_PROJECT) -> None:
        self._lock = threading.Lock()
        self._state = SessionState(project=project)
        self._engine: KnowledgeEngine | None = None

    def publish(self, state: SessionState, engine: KnowledgeEngine | None) -> None:
        with self._lock:
            self._state, self._engine = state, engine

    @property
    def state(self) -> SessionState:
        return self._state

    def model(self) -> str:
        return self._state.model

    def project(self) -> str:
        return self._state.project

    def busy(self) -> bool:
        return self._state.busy

    def engine(self) -> KnowledgeEngine | None:
        return self._engine

    def model_and_engine(self) -> tuple[str, KnowledgeEngine | None]:
        """The current model's name with its engine, read together."""
        with self._lock:
            return self._state.model, self._engine
