"""Messages that wait: queued behind a running reply, or held back because they would not fit.

Mixed into ``SessionController`` (state changed on its worker only).

* **Queued.** Enter while a reply streams (or while the database is away) queues
  the message (``SessionState.queued_messages``, shown as pending turns); each is
  sent, in order, when the reply ends — whether it ended well or not. One can be
  cancelled (``cancel_queued``): its text goes back to the prompt.
* **Held.** Before a message is written, the prompt it makes is counted with the
  engine's own tokenizer (``KnowledgeEngine.count_tokens``). If it would not leave
  room for a reply in ``n_ctx`` nothing is written or sent: the message is held
  (``SessionState.overflow``), ``ContextOverflowed`` asks the UI, and
  ``resolve_overflow`` carries out the choice — compress and continue (the
  message, and any queued behind it, is sent in the continued conversation),
  leave out the oldest turns for this one request, or cancel (the text goes back
  to the prompt). Never silently.

Nothing typed is lost: switching conversations hands every waiting message back to
the prompt (``MessagesReturned``).
"""

from __future__ import annotations

import uuid
from concurrent.futures import Future
from typing import Any, Callable, Sequence

from pymongo.errors import PyMongoError

from forge_tui.config import Settings
from forge_tui.domain.models import Conversation, Role, SystemPrompt, Turn
from forge_tui.engine.base import EngineError, KnowledgeEngine
from forge_tui.session import events as ev
from forge_tui.session.budget import Overflow, plan_truncation, reply_room
from forge_tui.session.context import build_messages
from forge_tui.session.feature_commands import Features
from forge_tui.session.routing import Router
from forge_tui.session.state import Activity, ModelStatus, QueuedMessage
from forge_tui.store.repository import Store

#: overflow choices (the dialog's buttons)
COMPRESS, TRUNCATE, CANCEL = "compress", "truncate", "cancel"


class WaitingCommands:
    """Mixed into ``SessionController`` (which defines what is declared here)."""

    settings: Settings
    features: Features
    _store: Store | None
    _engine: KnowledgeEngine | None
    _model_name: str
    _model_status: ModelStatus
    _conversation: Conversation
    _saved: bool
    _turns: list[Turn]
    _activity: Activity
    _tokens_used: int
    _router: Router | None
    _queued: list[QueuedMessage]
    _overflow: Overflow | None
    _context_note: str | None
    _prompt_tokens: int
    #: (source conversation, messages) to send once compress-and-continue has opened the new conversation
    _carry: tuple[str, list[QueuedMessage]] | None
    emit: Callable[[ev.Event], None]
    _submit: Callable[..., Future[Any] | None]
    _publish: Callable[[], None]
    _send: Callable[..., None]
    _compress: Callable[..., None]
    _system_prompt: Callable[[], SystemPrompt | None]

    def _init_waiting(self) -> None:
        self._queued = []
        self._overflow = None
        self._carry = None
        self._context_note = None
        self._prompt_tokens = 0  # the running reply's prompt (the meter adds the streamed pieces)

    # -- the token meter -----------------------------------------------------------------------
    def _count_tokens(self) -> None:
        """The meter: the request the open conversation would send now, counted by the engine."""
        engine = self._engine
        if engine is None or not engine.ready:
            return
        conv = self._conversation
        if not self._turns and not conv.archive_context and not conv.context_items:
            self._tokens_used = 0  # nothing but the system prompt yet
            return
        # the archive a continued conversation carries and the retrieved context count too
        try:
            messages = build_messages(self._turns, conv, self._store, system_prompt=self._system_prompt())
        except PyMongoError:
            messages = build_messages(self._turns, conv, None, system_prompt=self._system_prompt())
        self._tokens_used = engine.count_tokens(messages)

    # -- queued messages ---------------------------------------------------------------------
    def cancel_queued(self, message_id: str | None = None) -> Future[Any] | None:
        """Take a queued message back (the newest when no id is given): its text returns to the prompt."""
        def cancel() -> None:
            if not self._queued:
                self.emit(ev.Notice("No message is waiting to be sent.", "information"))
                return
            found = next((m for m in self._queued if m.id == message_id), None) if message_id else self._queued[-1]
            if found is None:
                return  # sent meanwhile
            self._queued.remove(found)
            self._publish()
            self.emit(ev.MessagesReturned(self._conversation.id, (found.text,),
                                          "Queued message cancelled: its text is back in the prompt."))
        return self._submit(cancel)

    def _enqueue(self, text: str, system: str | None) -> None:
        self._queued.append(QueuedMessage(uuid.uuid4().hex[:12], text, system))
        if self._store is None:
            self.emit(ev.Notice("Message kept: the database is not connected yet; it is sent when it answers.",
                                "information"))
        self._publish()

    def _send_queued(self) -> None:
        """Send the next waiting message, if the session can (idle, connected, nothing held)."""
        if self._activity != "idle" or self._store is None or self._overflow is not None:
            return
        if self._carry is not None:
            source, carried = self._carry
            self._carry = None
            if self._conversation.id != source and self._conversation.archive_context:
                self._queued = carried + self._queued
                self.emit(ev.Notice("Continued from the archive: sending your message here.", "information"))
            else:
                self._return_texts([m.text for m in carried],
                                   "The conversation was not continued: your message is back in the prompt.")
        if self._queued:
            message = self._queued.pop(0)
            self._send(message.text, message.system)

    def _return_waiting(self, why: str) -> None:
        """The conversation is changing: every waiting message goes back to the prompt."""
        texts = [self._overflow.text] if self._overflow is not None else []
        texts += [m.text for m in self._queued]
        if self._carry is not None:
            texts += [m.text for m in self._carry[1]]
        self._queued, self._overflow, self._carry, self._context_note = [], None, None, None
        self._return_texts(texts, f"{why}: your unsent message(s) are back in the prompt.")

    def _return_texts(self, texts: Sequence[str], reason: str) -> None:
        if texts:
            self.emit(ev.MessagesReturned(self._conversation.id, tuple(texts), reason))

    # -- messages that would not fit ---------------------------------------------------------
    def _preflight(self, conv: Conversation, text: str, system: str | None) -> Overflow | int | None:
        """The prompt's size with this message (the engine's tokenizer), or the ``Overflow`` if it would
        not fit. None when it cannot be counted here: the model is not ready (the engine then refuses an
        overflowing prompt itself, and the turn says why) or a ``[routing]`` chain picks the model."""
        engine = self._engine
        if engine is None or self._model_status != "ready" or not engine.ready or self._routed(conv):
            return None
        drafts = list(self._turns)
        if system:
            drafts.append(_draft(conv, Role.SYSTEM, system))
        drafts.append(_draft(conv, Role.USER, text))
        store, system_prompt = self._store, self._system_prompt()

        def count(turns: Sequence[Turn]) -> int:  # the request exactly as _reply builds it
            try:
                messages = build_messages(turns, conv, store, system_prompt=system_prompt)
            except PyMongoError:  # the archive of a continued conversation waits for the store
                messages = build_messages(turns, conv, None, system_prompt=system_prompt)
            return engine.count_tokens(messages)

        try:
            used = count(drafts)
            n_ctx, room = engine.n_ctx, reply_room(engine.n_ctx, self.settings.max_reply_tokens)
            if used + room <= n_ctx:
                return used
            drop = plan_truncation(drafts, count, n_ctx - room)
        except EngineError:
            return None
        if self.features.archives is None:
            cannot = "This Forge was started without archives."
        elif not self._saved:
            cannot = "Not yet: this conversation has nothing stored to compress."
        else:
            cannot = None
        return Overflow(conv.id, text, used, n_ctx, room, self._model_name, drop, system, cannot_compress=cannot)

    def _routed(self, conv: Conversation) -> bool:
        router = self._router
        if router is None:
            return False
        return router.routes("chat") or (router.routes("continue") and conv.archive_context is not None)

    def _hold(self, overflow: Overflow) -> None:
        self._overflow = overflow
        self._tokens_used = overflow.prompt_tokens  # the meter shows what the dialog says
        self._context_note = overflow.explain()
        self._publish()
        self.emit(ev.ContextOverflowed(overflow.conversation_id, overflow))

    def resolve_overflow(self, choice: str) -> Future[Any] | None:
        """The user's answer to ``ContextOverflowed``: ``compress``, ``truncate`` or ``cancel``."""
        return self._submit(self._resolve_overflow, choice)

    def _resolve_overflow(self, choice: str) -> None:
        held = self._overflow
        if held is None or held.conversation_id != self._conversation.id:
            return  # answered already, or handed back when the conversation changed
        self._overflow, self._context_note = None, None
        if choice == TRUNCATE and held.drop_turns is not None:
            self.emit(ev.Notice(f"Sent without the {held.drop_turns} oldest turn(s), for this request only; "
                                "they stay in the conversation and the store.", "information"))
            self._send(held.text, held.system, drop=held.drop_turns, checked=True)
            return
        if choice == COMPRESS and held.can_compress:
            carried = [QueuedMessage(uuid.uuid4().hex[:12], held.text, held.system), *self._queued]
            self._carry, self._queued = (held.conversation_id, carried), []
            self._compress("default", None, (), True)
            if self._activity != "compression":  # it could not start (it said why)
                self._carry = None
                self._return_texts([m.text for m in carried], "Not compressed: your message is back in the prompt.")
                self._count_tokens()
                self._publish()
            return
        self._count_tokens()
        self._publish()
        self._return_texts([held.text], "Not sent: your message is back in the prompt.")
        self._send_queued()


def _draft(conv: Conversation, role: Role, content: str) -> Turn:
    """A turn as it would be written, for counting only."""
    return Turn(id=f"draft:{role.value}", conversation_id=conv.id, seq=-1, role=role, content=content)

