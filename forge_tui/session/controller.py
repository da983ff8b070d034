"""SessionController: commands in, events out. No Textual here.

It owns the store and the engine. Every command returns at once; the work runs
on the controller's own worker thread (store I/O, orchestration) while token
generation runs on the engine's thread. Persistence rules (issue 2):

* the user's turn is written before generation starts;
* the assistant's turn is written when it starts (``streaming``), updated while
  it streams (at most every ``FLUSH_S``) and closed with a final status;
* turns left ``streaming`` by a crash are closed as ``interrupted`` at start-up.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable, Protocol

from forge_tui.config import ModelsConfig, Settings
from forge_tui.domain.ids import conversation_id, message_id
from forge_tui.domain.models import DEFAULT_PROJECT, Conversation, Role, Turn, TurnStatus, utcnow
from forge_tui.engine.base import GenerationRequest, GenerationResult, KnowledgeEngine
from forge_tui.session import events as ev
from forge_tui.session.training import TrainingRunner
from forge_tui.session.context import build_messages
from forge_tui.store.errors import StoreError
from forge_tui.store.repository import PyMongoError, Store

log = logging.getLogger(__name__)

FLUSH_S = 0.5
TITLE_LEN = 60

FINISH_STATUS = {
    "stop": TurnStatus.COMPLETE,
    "length": TurnStatus.COMPLETE,
    "cancelled": TurnStatus.CANCELLED,
    "context": TurnStatus.COMPLETE,
    "error": TurnStatus.ERROR,
}


class TurnHook(Protocol):
    """Runs after a turn is final in the store (classification, embedding, extraction)."""

    def after_turn(self, turn: Turn, conversation: Conversation) -> None: ...


class SessionController:
    def __init__(
        self,
        *,
        store_factory: Callable[[], Store],
        engine_factory: Callable[[str], KnowledgeEngine],
        models: ModelsConfig,
        settings: Settings,
        emit: Callable[[ev.Event], None],
        hooks: list[TurnHook] | None = None,
    ):
        self._store_factory = store_factory
        self._engine_factory = engine_factory
        self.models = models
        self.settings = settings
        self._emit = emit
        self.hooks = list(hooks or [])
        self.store: Store | None = None
        self.engine: KnowledgeEngine | None = None
        self.model_name = models.default
        self.project = settings.project or DEFAULT_PROJECT
        self.conversation: Conversation | None = None
        self.turns: list[Turn] = []
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="session")
        self._cancel = threading.Event()
        self._busy = threading.Event()
        self.tokens_used = 0
        #: feature actions, attached by the composition root (None when not wired)
        self.archive_actions = None
        self.knowledge_actions = None
        self.search_actions = None
        self.training: TrainingRunner | None = None  # LoRA training in the background
        #: work started once the store is connected (after the first paint): e.g. loading torch
        self.after_start: list[Callable[[], None]] = []
        self._closed = False

    # -- helpers -------------------------------------------------------------
    def emit(self, event: ev.Event) -> None:
        try:
            self._emit(event)
        except RuntimeError:  # the UI is gone (shutting down)
            log.debug("event dropped: %s", type(event).__name__)

    # -- primitives for feature actions (archives, knowledge, search) -------------
    def submit(self, fn, *args) -> Future | None:
        """Run ``fn`` on the session worker; store errors become a StoreFailed event."""
        return self._submit(fn, *args)

    def claim(self) -> bool:
        """Take the engine for a long task (reply, compression); False if it is taken."""
        if self._busy.is_set():
            return False
        self._busy.set()
        self._cancel.clear()
        return True

    def release(self) -> None:
        self._busy.clear()

    @property
    def cancel_event(self) -> threading.Event:
        return self._cancel

    def open_now(self, conv_id: str, focus_turn_id: str | None = None) -> None:
        """Open a conversation synchronously (call on the session worker)."""
        self._open(conv_id, focus_turn_id)

    def list_now(self) -> None:
        self._list()

    def _submit(self, fn, *args) -> Future | None:
        if self._closed:
            return None

        def run():
            try:
                return fn(*args)
            except (StoreError, PyMongoError) as exc:
                self.emit(ev.StoreFailed(_store_message(exc)))
            except Exception as exc:  # a bug: report it in-app instead of dying silently
                log.exception("session task failed")
                self.emit(ev.Notice(f"Internal error: {type(exc).__name__}: {exc}", "error"))
            return None

        return self._worker.submit(run)

    @property
    def busy(self) -> bool:
        return self._busy.is_set()

    @property
    def n_ctx(self) -> int:
        """The context size of the model of the moment (a server's engine learns it when it connects)."""
        if self.engine is not None:
            return self.engine.n_ctx
        return self.models.get(self.model_name).n_ctx or 4096

    # -- start-up ------------------------------------------------------------
    def start(self) -> Future | None:
        self.load_model(self.model_name)
        return self._submit(self._connect)

    def retry_store(self) -> Future | None:
        return self._submit(self._connect)

    def _connect(self) -> None:
        store = self._store_factory()
        interrupted = store.close_interrupted()
        self.store = store
        host, port = store.db.client.address or ("mongodb", 0)
        self.emit(ev.StoreConnected(f"{host}:{port}"))
        if interrupted:
            self.emit(ev.Notice(f"{interrupted} reply(ies) cut off by a crash were kept as 'interrupted'.", "warning"))
        self._list()
        starters, self.after_start = self.after_start, []
        for starter in starters:
            starter()

    def require_store(self) -> Store:
        if self.store is None:
            raise StoreError("The database is not connected yet. Retry with ctrl+r once it is reachable.")
        return self.store

    def refresh_list(self) -> Future | None:
        return self._submit(self._list)

    def _list(self) -> None:
        convs = self.require_store().list_conversations()
        self.emit(ev.ConversationsListed(convs, self.conversation.id if self.conversation else None))

    # -- model ---------------------------------------------------------------
    def load_model(self, name: str) -> None:
        """Switch models; loading happens on the engine's own thread."""
        old = self.engine
        self.model_name = name
        self.emit(ev.ModelLoading(name))
        try:
            engine = self._engine_factory(name)
        except Exception as exc:  # config errors name the fix
            self.emit(ev.ModelFailed(name, str(exc)))
            return
        self.engine = engine
        future = engine.start_loading()

        def done(f: Future) -> None:
            if f.exception() is not None:
                self.emit(ev.ModelFailed(name, str(f.exception())))
            else:
                self.emit(ev.ModelReady(name, engine.n_ctx, engine.load_seconds or 0.0))
                self._submit(self._count_tokens)

        future.add_done_callback(done)
        if old is not None and old is not engine:
            threading.Thread(target=old.close, daemon=True).start()

    # -- conversations -------------------------------------------------------
    def new_conversation(self, project: str | None = None) -> None:
        """Start an empty conversation; it is written with its first turn."""
        self.project = project or self.project
        self.conversation = None
        self.turns = []
        self.tokens_used = 0
        self.emit(ev.TokensCounted(0, self.n_ctx))

    def open_conversation(self, conv_id: str, focus_turn_id: str | None = None) -> Future | None:
        return self._submit(self._open, conv_id, focus_turn_id)

    def _open(self, conv_id: str, focus_turn_id: str | None) -> None:
        store = self.require_store()
        conv = store.get_conversation(conv_id)
        if conv is None:
            self.emit(ev.Notice(f"No conversation with id {conv_id}.", "error"))
            return
        self.conversation = conv
        self.project = conv.project
        self.turns = store.turns(conv.id)
        self.emit(ev.ConversationOpened(conv, list(self.turns), focus_turn_id))
        if conv.context_items:
            self.emit(ev.FeatureEvent("context_offered", {
                "conversation_id": conv.id, "items": conv.context_items,
                "budget": self.settings.retrieval_token_budget}))
        self._emit_knowledge()
        self._count_tokens()

    def _emit_knowledge(self) -> None:
        if self.knowledge_actions is not None:
            try:
                self.emit(self.knowledge_actions.view_event())
            except Exception:  # the sidebar can wait; the conversation cannot
                log.exception("knowledge view failed")

    def _ensure_conversation(self, first_text: str) -> Conversation:
        if self.conversation is not None:
            return self.conversation
        now = utcnow()
        title = " ".join(first_text.split())[:TITLE_LEN] or "New conversation"
        conv = Conversation(
            id=conversation_id(self.project, f"live:{title}", now.isoformat() + f"/{time.perf_counter_ns()}"),
            project=self.project, title=title, created_at=now, updated_at=now, model=self.model_name,
        )
        self.require_store().create_conversation(conv)
        self.conversation = conv
        self.turns = []
        self._list()
        return conv

    # -- chat ----------------------------------------------------------------
    def send(self, text: str, system: str | None = None) -> Future | None:
        """Persist the user's turn, then stream a reply. Returns None if refused.

        ``system`` (``forge ask --system``) is stored as a system turn before the user's;
        it joins the system prompt for the rest of the conversation.
        """
        text = text.strip()
        if not text:
            return None
        if self.store is None:
            self.emit(ev.Notice("The database is not reachable: your message is kept in the input. "
                                "Press ctrl+r to retry.", "error"))
            return None
        if not self.claim():
            self.emit(ev.Notice("A reply is still streaming: press Esc to cancel it first.", "warning"))
            return None
        return self._submit(self._send, text, system)

    def cancel(self) -> bool:
        """Cancel the running reply (prompt processing included). Never quits."""
        if self._busy.is_set():
            self._cancel.set()
            return True
        return False

    def _new_turn(self, conv: Conversation, role: Role, content: str, status: TurnStatus) -> Turn:
        now = utcnow()
        seq = len(self.turns)
        return Turn(
            id=message_id(conv.id, f"{seq}:{role.value}", now), conversation_id=conv.id, seq=seq,
            role=role, content=content, status=status, created_at=now, updated_at=now,
            model=self.model_name if role is Role.ASSISTANT else None,
        )

    def _send(self, text: str, system: str | None = None) -> None:
        try:
            store = self.require_store()
            conv = self._ensure_conversation(text)
            if system:
                instruction = self._new_turn(conv, Role.SYSTEM, system, TurnStatus.COMPLETE)
                store.insert_turn(instruction, conv.project)
                self.turns.append(instruction)
            user = self._new_turn(conv, Role.USER, text, TurnStatus.COMPLETE)
            store.insert_turn(user, conv.project)
            self.turns.append(user)
            self.emit(ev.TurnPersisted(user))
            self._run_hooks(user, conv)
            if self.search_actions is not None and user.seq == 0 and not conv.archive_context:
                self.search_actions.offer_for(conv, text)
            self._reply(store, conv)
        finally:
            self._busy.clear()

    def _reply(self, store: Store, conv: Conversation) -> None:
        reply = self._new_turn(conv, Role.ASSISTANT, "", TurnStatus.STREAMING)
        store.insert_turn(reply, conv.project)
        self.turns.append(reply)
        self.emit(ev.ReplyStarted(reply))
        engine = self.engine
        if engine is None:
            self._close_reply(store, reply, "", TurnStatus.ERROR, "No model is loaded. Pick one with ctrl+m.")
            return
        refusal = self._cloud_refusal(conv.project)
        if refusal:
            self._close_reply(store, reply, "", TurnStatus.ERROR, refusal)
            return
        buffer: list[str] = []
        last_flush = [time.monotonic()]

        def on_piece(piece: str) -> None:
            buffer.append(piece)
            self.emit(ev.ReplyChunk(reply.id, piece))
            now = time.monotonic()
            if now - last_flush[0] >= FLUSH_S:
                last_flush[0] = now
                store.update_turn(reply.id, content="".join(buffer))

        messages = build_messages(self.turns[:-1], conv, store)
        request = GenerationRequest(
            messages=messages, max_tokens=self.settings.max_reply_tokens, temperature=self.settings.temperature
        )
        try:
            result = engine.generate(request, on_piece, self._cancel)
        except Exception as exc:  # engine failures are shown; the partial text is kept
            log.exception("generation failed")
            self._close_reply(store, reply, "".join(buffer), TurnStatus.ERROR, f"{type(exc).__name__}: {exc}")
            return
        status = FINISH_STATUS.get(result.finish, TurnStatus.COMPLETE)
        reply.tokens = result.tokens
        reply.engine = engine.kind
        reply.usage = usage_of(result)
        reply.adapter = result.adapter
        self._close_reply(store, reply, result.text, status, result.error, result.finish)
        self.tokens_used = result.prompt_tokens + result.tokens
        self.emit(ev.TokensCounted(self.tokens_used, engine.n_ctx))
        if self.archive_actions is not None and status is TurnStatus.COMPLETE:
            self.archive_actions.check_auto_compress(self.tokens_used, engine.n_ctx)

    def _cloud_refusal(self, project: str) -> str | None:
        """Why this project's text must not go to the model of the moment (a cloud engine), if so."""
        spec = self.models.models.get(self.model_name)
        if spec is None or not spec.is_cloud or self.settings.cloud_allowed(project):
            return None
        return (f"Project '{project}' keeps its text off cloud engines, and '{self.model_name}' is one: pick a "
                f"local model (ctrl+m), or allow it with [projects.{project}] cloud = true in forge.toml.")

    def _close_reply(self, store: Store, reply: Turn, text: str, status: TurnStatus,
                     error: str | None, finish: str = "error") -> None:
        reply.content, reply.status, reply.error, reply.updated_at = text, status, error, utcnow()
        store.update_turn(reply.id, content=text, status=status, error=error, tokens=reply.tokens,
                          engine=reply.engine, usage=reply.usage, adapter=reply.adapter)
        self._busy.clear()  # before announcing: the user may send again as soon as they see it
        self.emit(ev.ReplyFinished(reply, finish, error))
        if self.conversation is not None and status is not TurnStatus.ERROR:
            self._run_hooks(reply, self.conversation)

    def _run_hooks(self, turn: Turn, conv: Conversation) -> None:
        for hook in self.hooks:
            try:
                hook.after_turn(turn, conv)
            except Exception:  # hooks must never cost the user a turn
                log.exception("turn hook %r failed", hook)

    def _count_tokens(self) -> None:
        engine = self.engine
        if engine is None or not engine.ready:
            return
        if self.conversation is None or not self.turns:
            self.tokens_used = 0
        else:
            self.tokens_used = engine.count_tokens(build_messages(self.turns, self.conversation, self.store))
        self.emit(ev.TokensCounted(self.tokens_used, engine.n_ctx))

    # -- feature entry points (the UI calls these; the work lives in *_actions) --
    def _feature(self, name: str):
        feature = getattr(self, name)
        if feature is None:
            self.emit(ev.Notice(f"This Forge was started without {name.replace('_actions', '')}.", "warning"))
        return feature

    def compress(self, mode: str = "default", upto_message_id: str | None = None,
                 context_archives: tuple = (), then_continue: bool = False):
        f = self._feature("archive_actions")
        return f and f.compress(mode, upto_message_id, context_archives, then_continue)

    def continue_from_archive(self, archive_id: str | None = None):
        f = self._feature("archive_actions")
        return f and f.continue_from(archive_id)

    def show_lineage(self, node: str | None = None):
        f = self._feature("archive_actions")
        return f and f.show_lineage(node)

    def search(self, query: str, project: str | None = None):
        f = self._feature("search_actions")
        return f and f.query(query, project)

    def keep_context(self, sources: list[str]):
        f = self._feature("search_actions")
        return f and f.keep_context(sources)

    def refresh_knowledge(self):
        f = self._feature("knowledge_actions")
        return f and f.refresh()

    def resolve_conflict(self, conflict_id: str, choice: str, project: str | None = None):
        f = self._feature("knowledge_actions")
        return f and f.choose(conflict_id, choice, project)

    def revalidate_decision(self, decision_id: str, project: str | None = None):
        f = self._feature("knowledge_actions")
        return f and f.revalidate(decision_id, project)

    def resolve_thread(self, thread_id: str, status: str = "RESOLVED", project: str | None = None):
        f = self._feature("knowledge_actions")
        return f and f.resolve_thread(thread_id, status, project)

    # -- shutdown ------------------------------------------------------------
    def shutdown(self) -> None:
        self._closed = True
        self._cancel.set()
        self._worker.shutdown(wait=True, cancel_futures=True)
        if self.engine is not None:
            self.engine.close()


def usage_of(result: GenerationResult) -> dict[str, int]:
    """A generation's token usage as stored on its turn."""
    return {"prompt": result.prompt_tokens, "completion": result.tokens,
            "cache_read": result.cache_read_tokens, "cache_write": result.cache_write_tokens}


def _store_message(exc: Exception) -> str:
    if isinstance(exc, StoreError):
        return str(exc)
    return (f"MongoDB is not reachable ({type(exc).__name__}). Check that the server at --mongo-uri / "
            "FORGE_MONGO_URI is running, then press ctrl+r to retry. Your typed text is kept.")
