"""SessionController: commands in, events out, one owner of the session's state.

Every command returns at once and queues its work on the session worker; only
that thread changes the state (conversation, turns, activity, model, tokens,
store status), and after each change it publishes one immutable
``SessionState`` (``StateChanged``) for the UI to bind. Model work (a reply, a
compression) runs on a job thread and reports back to the worker, so the worker
stays free: Ctrl+N during a reply cancels it and switches at once, and the
cancelled reply is still written to its own conversation. Events about a
conversation carry its id; the UI drops those for one it no longer shows.

Persistence (``StoreWriter``): turns are written in order — conversation, user
turn, assistant turn (``streaming``), its text every ``FLUSH_S``, its final
status — and each is announced only after it has landed, so nothing on screen
is missing from the store. While the database is away the writes wait in memory
(bounded) and ``StoreMonitor`` restarts the embedded server; they land when it
returns. Turns left ``streaming`` by a crash are closed as ``interrupted`` at start-up.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future
from dataclasses import replace
from typing import Any, Callable, Sequence

from pymongo.errors import PyMongoError

from forge_tui.config import ModelsConfig, Settings
from forge_tui.domain.ids import conversation_id
from forge_tui.domain.models import DEFAULT_PROJECT, TRASH_KEEP_DAYS, Conversation, Turn, utcnow
from forge_tui.engine.base import KnowledgeEngine
from forge_tui.session import events as ev
from forge_tui.session.branch_commands import BranchCommands
from forge_tui.session.chat_commands import FINISH_STATUS, ChatCommands, usage_of
from forge_tui.session.feature_commands import FeatureCommands, Features, TurnHook
from forge_tui.session.export_commands import ExportCommands
from forge_tui.session.knowledge_commands import KnowledgeCommands
from forge_tui.session.manage_commands import ManageCommands
from forge_tui.session.prompt_commands import PromptCommands
from forge_tui.session.state import Activity, ModelStatus, SessionState, SessionView, StoreStatus
from forge_tui.session.routing import Router
from forge_tui.session.training import TrainingRunner
from forge_tui.session.waiting import WaitingCommands
from forge_tui.session.store_link import StoreLink, StoreMonitor
from forge_tui.session.worker import SerialWorker
from forge_tui.session.writer import StoreWriter
from forge_tui.store.errors import StoreError
from forge_tui.store.repository import Store

log = logging.getLogger(__name__)

#: at quit, how long writes still in memory may take to land in a store that answers (a reply's
#: pieces held through an outage are still landing just after it; a loaded machine needs seconds)
QUIT_DRAIN_S = 2.0

__all__ = ["SessionController", "Features", "TurnHook", "FINISH_STATUS", "usage_of"]


class SessionController(ChatCommands, WaitingCommands, FeatureCommands, ManageCommands, PromptCommands,
                        ExportCommands, BranchCommands, KnowledgeCommands):
    def __init__(
        self,
        *,
        store_link: StoreLink,
        engine_factory: Callable[[str], KnowledgeEngine],
        models: ModelsConfig,
        settings: Settings,
        emit: Callable[[ev.Event], None],
        features: Features | None = None,
        hooks: Sequence[TurnHook] = (),
        on_connected: Sequence[Callable[[], None]] = (),
        model: str | None = None,
        training: TrainingRunner | None = None,
        router: Router | None = None,
        write_limit: int = 10_000,
        view: SessionView | None = None,
        watch_store: Callable[[Callable[[], Any]], Any] | None = None,
    ):
        """``view``: where each published state goes for readers on other threads (the root builds it
        first and hands it to them too). ``watch_store``: started once connected, given
        ``refresh_list`` to call when another process writes conversations."""
        self._link = store_link
        self._engine_factory = engine_factory
        self.models = models
        self.settings = settings
        self._emit = emit
        self.features = features or Features()
        #: LoRA training in the background (its own thread; None where the root offers none)
        self.training = training
        self._hooks = tuple(hooks)
        #: replies follow [routing].chat / .continue when set (None, or no chain: the picked model)
        self._router = router
        self._on_connected = tuple(on_connected)
        self._watch_store = watch_store
        self._view = view or SessionView(settings.project or DEFAULT_PROJECT)
        self._worker = SerialWorker("session")
        self._jobs = SerialWorker("session-job")
        self._writer = StoreWriter(self._writes_failing, limit=write_limit)
        self._monitor = StoreMonitor(store_link, self._store_lost, self._store_back, self._store_failed)
        self._cancel = threading.Event()
        self._closed = False
        # -- state: changed on the worker only ------------------------------------------
        self._store: Store | None = None
        self._engine: KnowledgeEngine | None = None
        self._model_name = model or models.default
        self._model_status: ModelStatus = "loading"
        self._model_message: str | None = None
        self._project = settings.project or DEFAULT_PROJECT
        self._project_prompt: str | None = None  # the project's default system prompt (read from the store)
        self._conversation = self._blank_conversation()
        self._saved = False  # is self._conversation in the store (it is written with its first turn)
        self._turns: list[Turn] = []
        #: the ``seq`` of the next turn written here (versions off the branch on show count too)
        self._next_seq = 0
        self._activity: Activity = "idle"
        self._tokens_used = 0
        self._store_status: StoreStatus = "connecting"
        self._store_message: str | None = None
        self._init_waiting()
        self.state = self._snapshot()
        self._view.publish(self.state, self._engine)

    # -- state ------------------------------------------------------------------------
    def _snapshot(self) -> SessionState:
        return SessionState(
            project=self._project, conversation=replace(self._conversation),
            turns=tuple(replace(t) for t in self._turns), activity=self._activity, model=self._model_name,
            model_status=self._model_status, model_message=self._model_message, tokens_used=self._tokens_used,
            n_ctx=self._engine.n_ctx if self._engine is not None and self._model_status == "ready"
            else self._n_ctx_configured(),
            store_status=self._store_status, store_label=self._link.label(), store_message=self._store_message,
            pending_writes=self._held_writes(), queued_messages=tuple(self._queued),
            system_prompt=self._system_prompt(), project_system_prompt=self._project_prompt,
            overflow=self._overflow, context_note=self._context_note,
        )

    def _held_writes(self) -> int:
        """Writes waiting for a database that does not answer; 0 while it answers. The writer's count of
        writes in flight is not shown then, and no snapshot is published when the last of them lands, so
        a count taken in a healthy store went stale (the last writes of a reply left it at 1 or 2)."""
        return self._writer.pending if self._writer.failing or self._store_status != "connected" else 0

    def _n_ctx_configured(self) -> int:
        try:
            return self.models.get(self._model_name).n_ctx or 4096  # a server's engine learns it on connecting
        except Exception:  # an unknown name: the model status says why
            return 0

    def _publish(self) -> None:
        self.state = self._snapshot()
        self._view.publish(self.state, self._engine)
        self.emit(ev.StateChanged(self.state))

    def emit(self, event: ev.Event) -> None:
        try:
            self._emit(event)
        except RuntimeError:  # the UI is gone (shutting down)
            log.debug("event dropped: %s", type(event).__name__)

    def _submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any] | None:
        """Run ``fn`` on the worker; store errors become a notice, a bug an error notice."""

        def run() -> Any:
            try:
                return fn(*args)
            except (StoreError, PyMongoError) as exc:
                self.emit(ev.Notice(_store_message(exc, self._link.embedded), "error"))
                if isinstance(exc, PyMongoError):
                    self._monitor.check_now()
            except Exception as exc:  # a bug: report it in-app instead of dying silently
                log.exception("session task failed")
                self.emit(ev.Notice(f"Internal error: {type(exc).__name__}: {exc}", "error"))
            return None

        return None if self._closed else self._worker.submit(run)

    def run_on_worker(self, fn: Callable[[], Any]) -> Future[Any] | None:
        """Queue ``fn`` behind every command given so far (tests wait on it)."""
        return self._submit(fn)

    @property
    def busy(self) -> bool:
        return self.state.busy

    @property
    def engine(self) -> KnowledgeEngine | None:
        """The engine of the moment (read-only; background extraction follows model switches)."""
        return self._engine

    # -- start-up and the store ------------------------------------------------------------
    def start(self) -> Future[Any] | None:
        self.load_model(self._model_name)
        return self._submit(self._connect)

    def retry_store(self) -> Future[Any] | None:
        """Ctrl+R: connect (never connected yet) or re-run the launcher."""
        def retry() -> None:
            if self._store is None:
                self._connect()
            else:
                self._store_status, self._store_message = "lost", "Retrying the database (ctrl+r)…"
                self._publish()
                self._monitor.check_now(recover=True)
        return self._submit(retry)

    def _connect(self) -> None:
        self._store_status, self._store_message = "connecting", None
        self._publish()
        try:
            store = self._link.connect()
            interrupted = store.close_interrupted()
            purged = store.purge_trash()
        except (StoreError, PyMongoError) as exc:
            self._store_status, self._store_message = "failed", _store_message(exc, self._link.embedded)
            self._publish()
            return
        self._store = store
        self._store_status = "connected"
        self._load_project_prompt()
        self._publish()
        self._monitor.start()
        if interrupted:
            self.emit(ev.Notice(f"{interrupted} reply(ies) cut off by a crash were kept as 'interrupted'.", "warning"))
        if purged:
            self.emit(ev.Notice(f"Emptied {len(purged)} conversation(s) deleted more than {TRASH_KEEP_DAYS} days ago "
                                "from the trash.", "information"))
        self._list()
        self._emit_knowledge()
        if self._watch_store is not None:
            self._watch_store(self.refresh_list)
        for starter in self._on_connected:
            starter()
        self._send_queued()

    def _writes_failing(self, healthy: bool, problem: str | None) -> None:
        """From the writer thread: a write failed (or landed again); the monitor decides."""
        if not healthy:
            self._monitor.check_now()
        self._submit(self._publish)

    def _store_lost(self, problem: str) -> None:
        def lost() -> None:
            self._store_status = "lost"
            self._store_message = problem + (" Restarting it…" if self._link.embedded else
                                             " Forge keeps your writes in memory until it answers.")
            self._publish()
        self._submit(lost)

    def _store_back(self, what: str) -> None:
        def back() -> None:
            was_down = self._store_status != "connected"
            self._store_status, self._store_message = "connected", None
            self._publish()
            if was_down:
                self.emit(ev.Notice(f"Database back: {what}", "information"))
            self._send_queued()
        self._submit(back)

    def _store_failed(self, problem: str) -> None:
        def failed() -> None:
            self._store_status = "failed"
            self._store_message = (f"{_store_message(StoreError(problem), self._link.embedded)} "
                                   "Forge keeps retrying; your writes wait in memory.")
            self._publish()
        self._submit(failed)

    def _require_store(self) -> Store:
        if self._store is None:
            raise StoreError("The database is not connected yet. Retry with ctrl+r once it is reachable.")
        return self._store

    def refresh_list(self) -> Future[Any] | None:
        return self._submit(self._list)

    def _list(self) -> None:
        self.emit(ev.ConversationsListed(self._require_store().list_conversations()))

    # -- model -------------------------------------------------------------------------------
    def update_models(self, models: ModelsConfig) -> Future[Any] | None:
        """A good edit of models.toml (the current engine keeps running until the next switch)."""
        def update() -> None:
            self.models = models
            self._publish()
        return self._submit(update)

    def load_model(self, name: str) -> Future[Any] | None:
        """Switch models; loading happens on the engine's own thread."""
        return self._submit(self._load_model, name)

    def _load_model(self, name: str) -> None:
        old = self._engine
        self._model_name, self._model_status, self._model_message = name, "loading", None
        try:
            engine = self._engine_factory(name)
        except Exception as exc:  # config errors name the fix
            self._engine, self._model_status, self._model_message = None, "failed", str(exc)
            self._publish()
            return
        self._engine = engine
        self._publish()
        engine.start_loading().add_done_callback(
            lambda f: self._submit(self._model_loaded, engine, f.exception()))
        if old is not None and old is not engine:
            threading.Thread(target=old.close, name="forge-engine-close", daemon=True).start()

    def _model_loaded(self, engine: KnowledgeEngine, error: BaseException | None) -> None:
        if engine is not self._engine:
            return  # superseded by a later switch
        if error is not None:
            self._model_status, self._model_message = "failed", str(error)
        else:
            self._model_status, self._model_message = "ready", None
            self._count_tokens()
        self._publish()

    # -- conversations --------------------------------------------------------------------------
    def _blank_conversation(self) -> Conversation:
        now = utcnow()
        return Conversation(
            id=conversation_id(self._project, "live", now.isoformat() + f"/{time.perf_counter_ns()}"),
            project=self._project, title="New conversation", created_at=now, updated_at=now,
            model=self._model_name,
        )

    def new_conversation(self, project: str | None = None) -> Future[Any] | None:
        """Start an empty conversation (it is written with its first turn); cancels a running reply."""
        self.cancel()
        return self._submit(self._new_conversation, project)

    def _new_conversation(self, project: str | None) -> None:
        changed = bool(project) and project != self._project
        self._project = project or self._project
        self._return_waiting("New conversation")
        self._load_project_prompt()
        self._conversation, self._saved, self._turns, self._tokens_used = self._blank_conversation(), False, [], 0
        self._next_seq = 0
        self.emit(ev.ConversationOpened(replace(self._conversation), []))
        self._publish()
        if changed and self._store is not None:
            self._emit_knowledge()

    def open_conversation(self, conv_id: str, focus_turn_id: str | None = None) -> Future[Any] | None:
        """Show a stored conversation; cancels a running reply (it is kept in its own conversation)."""
        self.cancel()

        def switch() -> None:
            if conv_id != self._conversation.id:
                self._return_waiting("Another conversation was opened")
            self._open(conv_id, focus_turn_id)
        return self._submit(switch)

    def _open(self, conv_id: str, focus_turn_id: str | None) -> None:
        store = self._require_store()
        conv = store.get_conversation(conv_id)
        if conv is None:
            self.emit(ev.Notice(f"No conversation with id {conv_id}.", "error"))
            return
        self._conversation, self._saved, self._project = conv, True, conv.project
        self._load_project_prompt()
        tree = store.turn_tree(conv.id)
        self._turns, self._next_seq = self._branch_to_open(store, tree, focus_turn_id), store.next_seq(conv.id)
        self._context_note = None
        self.emit(ev.ConversationOpened(replace(conv), [replace(t) for t in self._turns], focus_turn_id))
        self.emit(ev.BranchesChanged(conv.id, tree.branches()))
        self._emit_archive()
        if conv.context_items:
            self.emit(ev.ContextOffered(conv.id, list(conv.context_items), self.settings.retrieval_token_budget))
        self._emit_knowledge()
        self._count_tokens()
        self._publish()

    # -- shutdown ------------------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Quit quickly whatever the store's state: cancel, give writes a moment to land, stop."""
        self._closed = True
        self._cancel.set()
        self._monitor.stop()
        self._worker.shutdown()
        if not self._writer.failing and self._store_status == "connected":
            self._writer.drain(QUIT_DRAIN_S)  # a dead store gets no wait: what is unwritten was never shown
        self._writer.stop()
        self._jobs.shutdown()
        engine = self._engine
        if engine is not None:
            engine.close()


def _store_message(exc: Exception, embedded: bool) -> str:
    if isinstance(exc, StoreError):
        return str(exc)
    if embedded:
        return (f"The embedded database is not answering ({type(exc).__name__}). Forge restarts it; "
                "ctrl+r retries now. Your typed text is kept.")
    return (f"MongoDB is not reachable ({type(exc).__name__}). Check that the server at --mongo-uri / "
            "FORGE_MONGO_URI is running; ctrl+r retries. Your typed text is kept.")
