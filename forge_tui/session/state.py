"""``SessionState``: the one immutable snapshot of a session the UI binds.

The controller owns the live values (changed only on its worker thread) and
publishes a new snapshot after each change; nothing else holds a second copy of
"busy", the model, the token count or the store's health.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from forge_tui.domain.models import Conversation, SystemPrompt, Turn

#: what holds the engine: nothing, a reply, or a compression
Activity = Literal["idle", "reply", "compression"]
ModelStatus = Literal["loading", "ready", "failed"]
#: connecting (start-up), connected, lost (noticed dead; recovering), failed (gave up: ctrl+r)
StoreStatus = Literal["connecting", "connected", "lost", "failed"]


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
    #: messages typed while the store was away, sent when it returns
    queued_messages: tuple[str, ...] = field(default_factory=tuple)
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
