"""The controller's chat commands: send a message, stream its reply, cancel.

Mixed into ``SessionController``, which owns the state these change (all on its
worker; the reply itself runs on its job thread). A reply's text goes through
``ReplyStream``: written first, shown after.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future
from dataclasses import replace
from typing import Any, Callable

from pymongo.errors import PyMongoError

from forge_tui.config import ModelsConfig, Settings
from forge_tui.domain.ids import message_id
from forge_tui.domain.models import Conversation, Role, SystemPrompt, Turn, TurnStatus, utcnow
from forge_tui.engine.base import EngineError, GenerationRequest, GenerationResult, KnowledgeEngine
from forge_tui.session import events as ev
from forge_tui.session.budget import Overflow, reply_outcome, without_oldest
from forge_tui.session.context import build_messages
from forge_tui.session.feature_commands import Features, TurnHook
from forge_tui.session.reply import ReplyStream
from forge_tui.session.routing import Routed, Router, RoutingExhausted
from forge_tui.session.state import Activity, ModelStatus, QueuedMessage, SessionState
from forge_tui.session.worker import SerialWorker
from forge_tui.session.writer import StoreWriter
from forge_tui.store.repository import Store

log = logging.getLogger(__name__)

TITLE_LEN = 60

#: the status a finish gives a reply with text (``budget.reply_outcome`` decides, empty replies included)
FINISH_STATUS = {
    "stop": TurnStatus.COMPLETE,
    "length": TurnStatus.TRUNCATED,
    "cancelled": TurnStatus.CANCELLED,
    "context": TurnStatus.TRUNCATED,
    "error": TurnStatus.ERROR,
}


class ChatCommands:
    """Mixed into ``SessionController`` (which defines what is declared here)."""

    models: ModelsConfig
    settings: Settings
    features: Features
    state: SessionState
    _store: Store | None
    _engine: KnowledgeEngine | None
    _model_name: str
    _model_status: ModelStatus
    _model_message: str | None
    _conversation: Conversation
    _saved: bool
    _turns: list[Turn]
    _next_seq: int
    _activity: Activity
    _tokens_used: int
    _queued: list[QueuedMessage]
    _overflow: Overflow | None
    _context_note: str | None
    _hooks: tuple[TurnHook, ...]
    _router: Router | None
    _cancel: threading.Event
    _jobs: SerialWorker
    _writer: StoreWriter
    emit: Callable[[ev.Event], None]
    _submit: Callable[..., Future[Any] | None]
    _publish: Callable[[], None]
    _list: Callable[[], None]
    _check_auto_compress: Callable[[int, int], None]
    _system_prompt: Callable[[], SystemPrompt | None]
    _send_queued: Callable[[], None]
    _enqueue: Callable[[str, str | None], None]
    _preflight: Callable[[Conversation, str, str | None], Overflow | int | None]
    _hold: Callable[[Overflow], None]

    def send(self, text: str, system: str | None = None) -> bool:
        """Queue a message; it is written, then replied to. While a reply runs or the
        database is away it waits and is sent afterwards (``waiting.py``); one that would
        not fit the context is held and the UI asked (``ContextOverflowed``). False for empty text.

        ``system`` (``forge ask --system``) is stored as a system turn before the user's;
        it joins the system prompt for the rest of the conversation.
        """
        text = text.strip()
        if not text:
            return False
        return self._submit(self._accept, text, system) is not None

    def cancel(self) -> bool:
        """Cancel the running reply or compression (prompt processing included). Never quits."""
        if self.state.busy:
            self._cancel.set()
            return True
        return False

    def _accept(self, text: str, system: str | None = None) -> None:
        """A new message: sent now, or queued behind the running reply, a held message or earlier ones."""
        if self._store is None or self._activity != "idle" or self._overflow is not None or self._queued:
            self._enqueue(text, system)
            self._send_queued()  # (only if nothing stands in the way after all)
            return
        self._send(text, system)

    def _send(self, text: str, system: str | None = None, *, drop: int = 0, checked: bool = False) -> None:
        """Write the message and start its reply. ``checked``: the fit was settled by the user
        (``drop``: the oldest turns this one request leaves out)."""
        if self._store is None or self._activity != "idle" or self._overflow is not None:
            self._enqueue(text, system)
            return
        store, conv = self._store, self._conversation
        prompt_tokens: int | None = None
        if not checked:
            fit = self._preflight(conv, text, system)
            if isinstance(fit, Overflow):
                self._hold(fit)
                return
            prompt_tokens = fit
        if not self._saved:
            conv.title = " ".join(text.split())[:TITLE_LEN] or "New conversation"
            conv.created_at = conv.updated_at = utcnow()
            saved = replace(conv)
            self._writer.submit(lambda: store.create_conversation(saved), self._refresh_list_later)
            self._saved = True
        if system:
            instruction = self._new_turn(conv, Role.SYSTEM, system, TurnStatus.COMPLETE)
            self._turns.append(instruction)
            self._writer.submit(lambda: store.insert_turn(instruction, conv.project))
        user = self._new_turn(conv, Role.USER, text, TurnStatus.COMPLETE)
        self._turns.append(user)
        persisted = replace(user)
        self._writer.submit(lambda: store.insert_turn(persisted, conv.project),
                            lambda: self._after_write(ev.TurnPersisted(conv.id, persisted), persisted, conv))
        search = self.features.search
        if search is not None and user.seq == 0 and not conv.archive_context:
            try:
                offered = search.offer_for(conv, text)
            except PyMongoError:
                offered = None
            if offered is not None:
                self.emit(offered)
                prompt_tokens = None  # the retrieved context joins the request: count it again
        self._reply(store, conv, drop=drop, prompt_tokens=prompt_tokens)

    def _refresh_list_later(self) -> None:
        self._submit(self._list)

    def _after_write(self, event: ev.Event, turn: Turn, conv: Conversation) -> None:
        self.emit(event)
        self._run_hooks(turn, conv)

    def _new_turn(self, conv: Conversation, role: Role, content: str, status: TurnStatus) -> Turn:
        """The next turn of the branch on show: it follows the last turn there (``parent_id``)."""
        now = utcnow()
        seq = max(self._next_seq, len(self._turns))
        self._next_seq = seq + 1
        return Turn(
            id=message_id(conv.id, f"{seq}:{role.value}", now), conversation_id=conv.id, seq=seq,
            role=role, content=content, status=status, created_at=now, updated_at=now,
            model=self._model_name if role is Role.ASSISTANT else None,
            parent_id=self._turns[-1].id if self._turns else conv.id,
        )

    def _reply(self, store: Store, conv: Conversation, drop: int = 0, prompt_tokens: int | None = None) -> None:
        reply = self._new_turn(conv, Role.ASSISTANT, "", TurnStatus.STREAMING)
        self._turns.append(reply)
        started = replace(reply)
        self._writer.submit(lambda: store.insert_turn(started, conv.project),
                            lambda: self.emit(ev.ReplyStarted(conv.id, started)))
        stream = ReplyStream(self._writer, store, started, self.emit,
                             on_shown=lambda pieces: self._submit(self._reply_progressed, conv.id, pieces))
        task = self._routed_task(conv)
        engine = self._engine
        if task is None and (engine is None or self._model_status == "failed"):
            why = f"Model '{self._model_name}' could not be loaded: {self._model_message}"
            self._reply_done(stream, conv, None, error=f"{why} (ctrl+m or f2 picks a model)")
            return  # (a model still loading is waited for: generate() waits until it is ready)
        refusal = self._cloud_refusal(conv.project) if task is None else None  # a chain skips cloud itself
        if refusal:
            self._reply_done(stream, conv, None, error=refusal)
            return
        system_prompt = self._system_prompt()
        history = without_oldest(self._turns[:-1], drop) if drop else self._turns[:-1]
        try:
            messages = build_messages(history, conv, store, system_prompt=system_prompt)
        except PyMongoError:  # the archive a continued conversation carries waits for the store
            messages = build_messages(history, conv, None, system_prompt=system_prompt)
        request = GenerationRequest(messages=messages, max_tokens=self.settings.max_reply_tokens,
                                    temperature=self.settings.temperature)
        if prompt_tokens is None and task is None and engine is not None and engine.ready:
            try:
                prompt_tokens = engine.count_tokens(messages)
            except EngineError:
                prompt_tokens = None
        self._prompt_tokens = self._tokens_used = prompt_tokens if prompt_tokens is not None else self._tokens_used
        self._activity = "reply"
        self._cancel.clear()
        self._publish()
        if task is not None:
            self._reply_routed(task, stream, conv, request)
            return
        assert engine is not None
        job = self._jobs.submit(lambda: engine.generate(request, stream.add, self._cancel))
        assert job is not None
        job.add_done_callback(lambda f: self._submit(self._reply_future_done, stream, conv, engine, f))

    def _reply_future_done(self, stream: ReplyStream, conv: Conversation, engine: KnowledgeEngine,
                           future: Future[GenerationResult]) -> None:
        error = future.exception()
        if error is not None:
            log.error("generation failed", exc_info=error)
            self._reply_done(stream, conv, None, error=f"{type(error).__name__}: {error}")
        else:
            self._reply_done(stream, conv, future.result(), engine=engine)

    def _routed_task(self, conv: Conversation) -> str | None:
        """The ``[routing]`` chain this reply follows: ``continue`` for the first reply of a conversation
        continued from an archive (when that chain is set), else ``chat``; None: the picked model."""
        router = self._router
        if router is None:
            return None
        first_of_continued = conv.archive_context is not None and not any(
            t.role is Role.ASSISTANT for t in self._turns[:-1])
        if first_of_continued and router.routes("continue"):
            return "continue"
        return "chat" if router.routes("chat") else None

    def _reply_routed(self, task: str, stream: ReplyStream, conv: Conversation, request: GenerationRequest) -> None:
        """Generate along the task's chain: a model that is down, times out before its first token or
        cannot fit the prompt passes the turn to the next one; once text has streamed there is no retry."""
        router, cancel = self._router, self._cancel
        assert router is not None

        def attempt(engine: KnowledgeEngine) -> tuple[GenerationResult, KnowledgeEngine]:
            try:
                result = engine.generate(request, stream.add, cancel)
            except EngineError as exc:
                if stream.text:
                    raise ReplyBroken(str(exc)) from exc
                raise
            if not stream.text and (result.backend_failed or result.finish == "context"):
                raise NoReplyFrom(result.error or f"the model ended with '{result.finish}' before answering")
            return result, engine

        job = self._jobs.submit(lambda: router.run(task, conv.project, attempt, escalate_on=(NoReplyFrom,),
                                                   current=self._model_name, cancel=cancel))
        assert job is not None
        job.add_done_callback(lambda f: self._submit(self._routed_reply_done, stream, conv, f))

    def _routed_reply_done(self, stream: ReplyStream, conv: Conversation,
                           future: Future[Routed[tuple[GenerationResult, KnowledgeEngine]]]) -> None:
        error = future.exception()
        if isinstance(error, RoutingExhausted):
            self._reply_done(stream, conv, None, error=str(error))
        elif error is not None:
            log.error("generation failed", exc_info=error)
            self._reply_done(stream, conv, None, error=f"{type(error).__name__}: {error}")
        else:
            routed = future.result()
            result, engine = routed.value
            stream.turn.model = routed.model
            passed = [f"{a.model} ({a.reason})" for a in routed.attempts if a.outcome != "answered"]
            if passed:
                self.emit(ev.Notice(f"Replied with '{routed.model}': passed over {'; '.join(passed)}.",
                                    "information"))
            self._reply_done(stream, conv, result, engine=engine)

    def _reply_progressed(self, conv_id: str, pieces: int) -> None:
        """While a reply streams the meter counts the prompt and the pieces shown so far (a piece is
        about a token); the reply's end sets the engine's exact count."""
        if conv_id == self._conversation.id and self._activity == "reply":
            self._tokens_used = self._prompt_tokens + pieces
            self._publish()

    def _reply_done(self, stream: ReplyStream, conv: Conversation, result: GenerationResult | None,
                    error: str | None = None, engine: KnowledgeEngine | None = None) -> None:
        if result is None:
            text, status, finish, tokens = stream.text, TurnStatus.ERROR, "error", None
            error = error or "The reply failed and the engine gave no reason."
        else:
            status, error = reply_outcome(result, self.settings.max_reply_tokens)
            text, finish, tokens = result.text, result.finish, result.tokens
            stream.turn.usage = usage_of(result)
            stream.turn.adapter = result.adapter
            stream.turn.engine = engine.kind if engine is not None else None
        stream.turn.tokens = tokens
        def landed(turn: Turn) -> None:
            self._refresh_list_later()  # turn counts and order changed
            if status is not TurnStatus.ERROR:
                self._run_hooks(turn, conv)

        final = stream.finish(text, status, error, finish, landed)
        current = conv.id == self._conversation.id
        if current:
            self._turns = [final if t.id == final.id else t for t in self._turns]
            if result is not None:
                self._tokens_used = result.prompt_tokens + result.tokens
            # the banner says why the context is a problem, and only while it is one
            self._context_note = error if finish == "context" else None
        self._activity = "idle"
        self._publish()
        if current and result is not None and status in (TurnStatus.COMPLETE, TurnStatus.TRUNCATED):
            self._check_auto_compress(self._tokens_used, engine.n_ctx if engine is not None else 0)
        self._send_queued()

    def _cloud_refusal(self, project: str) -> str | None:
        """Why this project's text must not go to the model of the moment (a cloud engine), if so."""
        spec = self.models.models.get(self._model_name)
        if spec is None or not spec.is_cloud or self.settings.cloud_allowed(project):
            return None
        return (f"Project '{project}' keeps its text off cloud engines, and '{self._model_name}' is one: pick a "
                f"local model (ctrl+m), or allow it with [projects.{project}] cloud = true in forge.toml.")

    def _run_hooks(self, turn: Turn, conv: Conversation) -> None:
        for hook in self._hooks:
            try:
                hook.after_turn(turn, conv)
            except Exception:  # hooks must never cost the user a turn
                log.exception("turn hook %r failed", hook)


class NoReplyFrom(Exception):
    """A model of a routed chain produced nothing (backend down, timed out, prompt too long): try the next."""


class ReplyBroken(Exception):
    """A model failed after its text had streamed: the reply ends there (never regenerated elsewhere)."""


def usage_of(result: GenerationResult) -> dict[str, int]:
    """A generation's token usage as stored on its turn."""
    return {"prompt": result.prompt_tokens, "completion": result.tokens,
            "cache_read": result.cache_read_tokens, "cache_write": result.cache_write_tokens}
