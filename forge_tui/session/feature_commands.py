"""The controller's feature commands: archives, knowledge, search.

The feature services (``ArchiveService``, ``KnowledgeService``, ``SearchCommands``)
are built by the composition root and handed to the controller in ``Features``;
these commands run them on the controller's threads and announce the results.
A feature the root did not wire answers with a notice.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Callable, Protocol, Sequence

from forge_tui.compression.service import CompressionError
from forge_tui.config import Settings
from forge_tui.domain.models import Conversation, Turn
from forge_tui.engine.base import KnowledgeEngine
from forge_tui.knowledge.errors import KnowledgeError
from forge_tui.session import events as ev
from forge_tui.session.archives import ArchiveService
from forge_tui.session.knowledge import KnowledgeService
from forge_tui.session.search import SearchCommands
from forge_tui.session.state import Activity, ModelStatus
from forge_tui.session.worker import SerialWorker


class TurnHook(Protocol):
    """Runs after a turn is final in the store (classification, embedding, extraction)."""

    def after_turn(self, turn: Turn, conversation: Conversation) -> None: ...


@dataclass(frozen=True)
class Features:
    archives: ArchiveService | None = None
    knowledge: KnowledgeService | None = None
    search: SearchCommands | None = None


class FeatureCommands:
    """Mixed into ``SessionController`` (which defines what is declared here)."""

    features: Features
    settings: Settings
    _jobs: SerialWorker
    _cancel: threading.Event
    _activity: Activity
    _conversation: Conversation
    _saved: bool
    _project: str
    _engine: KnowledgeEngine | None
    _model_status: ModelStatus
    _model_name: str

    emit: Callable[[ev.Event], None]
    _submit: Callable[..., Future[Any] | None]
    _publish: Callable[[], None]
    _open: Callable[[str, str | None], None]
    _list: Callable[[], None]
    _send_queued: Callable[[], None]

    def _missing(self, what: str) -> None:
        self.emit(ev.Notice(f"This Forge was started without {what}.", "warning"))

    # -- archives --------------------------------------------------------------------------
    def compress(self, mode: str = "default", upto_message_id: str | None = None,
                 context_archives: Sequence[str] = (), then_continue: bool = False) -> Future[Any] | None:
        return self._submit(self._compress, mode, upto_message_id, tuple(context_archives), then_continue)

    def _compress(self, mode: str, upto: str | None, context: tuple[str, ...], then_continue: bool) -> None:
        archives = self.features.archives
        if archives is None:
            return self._missing("archives")
        if not self._saved:
            self.emit(ev.Notice("Nothing to compress yet: open or start a conversation first.", "warning"))
            return None
        if self._activity != "idle":
            self.emit(ev.Notice(f"A {self._activity} is running: press Esc to cancel it first.", "warning"))
            return None
        engine = self._engine if self._model_status == "ready" else None  # none ready: the rule-based archive
        project, model = self._project, self._model_name
        conv_id = self._conversation.id
        self._activity = "compression"
        self._cancel.clear()
        self._publish()
        self.emit(ev.ArchiveStarted(conv_id, mode))

        def run() -> ev.ArchiveReady:
            return archives.compress(engine, conv_id, mode=mode, upto_message_id=upto, context_archives=context,
                                     on_piece=lambda text: self.emit(ev.ArchivePiece(conv_id, text)),
                                     cancel=self._cancel, project=project, current_model=model, emit=self.emit)

        job = self._jobs.submit(run)
        assert job is not None
        job.add_done_callback(lambda f: self._submit(self._compressed, conv_id, f, then_continue))
        return None

    def _compressed(self, conv_id: str, future: Future[ev.ArchiveReady], then_continue: bool) -> None:
        self._activity = "idle"
        self._publish()
        error = future.exception()
        if isinstance(error, CompressionError):
            self.emit(ev.ArchiveFailed(conv_id, str(error), error.partial or ""))
        elif error is not None:
            self.emit(ev.ArchiveFailed(conv_id, f"{type(error).__name__}: {error}"))
        else:
            ready = future.result()
            self.emit(ready)
            if then_continue:
                self._continue(ready.archive_id)
        self._send_queued()

    def continue_from_archive(self, archive_id: str | None = None) -> Future[Any] | None:
        return self._submit(self._continue, archive_id)

    def _continue(self, archive_id: str | None) -> None:
        archives = self.features.archives
        if archives is None:
            return self._missing("archives")
        archive_id = archive_id or (archives.latest_archive_id(self._conversation.id) if self._saved else None)
        if archive_id is None:
            self.emit(ev.Notice("No archive yet: compress this conversation first (F5).", "warning"))
            return None
        try:  # continuing needs no model: a session whose model failed to load can still do it
            conv, prompt = archives.continue_from(archive_id)
        except CompressionError as exc:
            self.emit(ev.Notice(str(exc), "error"))
            return None
        search = self.features.search
        if search is not None:
            offered = search.offer_for(conv, prompt)
            if offered is not None:
                self.emit(offered)
        self._open(conv.id, None)
        self._list()
        # the lineage view opens only when asked (F7); say where it is
        self.emit(ev.Notice(f"Continued from archive {archive_id[:8]} in a new conversation; F7 shows the lineage."))
        return None

    def _emit_archive(self) -> None:
        """The archive pane follows the open conversation."""
        archives = self.features.archives
        if archives is not None and self._saved:
            self.emit(archives.archive_of(self._conversation))

    def show_lineage(self, node: str | None = None) -> Future[Any] | None:
        return self._submit(self._lineage, node)

    def _lineage(self, node: str | None) -> None:
        archives = self.features.archives
        if archives is None:
            return self._missing("archives")
        node = node or (self._conversation.id if self._saved else None)
        if node is None:
            self.emit(ev.Notice("Open a conversation to see its lineage.", "warning"))
            return None
        self.emit(archives.lineage(node, {self._conversation.id: self._conversation.title}))
        return None

    def _check_auto_compress(self, used: int, n_ctx: int) -> None:
        """After each reply: past the threshold, compress and continue (or ask)."""
        setting = self.settings.auto_compress
        if setting == "off" or not n_ctx or used / n_ctx < self.settings.auto_compress_threshold:
            return
        if setting == "auto":
            self.emit(ev.Notice(f"Context {used}/{n_ctx}: compressing and continuing in a new session "
                                "(the original turns stay).", "information"))
            self._compress("default", None, (), True)
        else:
            self.emit(ev.AutoCompressSuggested(self._conversation.id, used, n_ctx))

    # -- knowledge -------------------------------------------------------------------------
    def _emit_knowledge(self) -> None:
        knowledge = self.features.knowledge
        if knowledge is not None:
            self.emit(knowledge.view(self._project))

    def refresh_knowledge(self) -> Future[Any] | None:
        return self._submit(self._emit_knowledge)

    def _knowledge_act(self, act: Callable[[KnowledgeService, str], str]) -> Future[Any] | None:
        def run() -> None:
            knowledge = self.features.knowledge
            if knowledge is None:
                return self._missing("the knowledge graph")
            try:
                done = act(knowledge, self._project)
            except KnowledgeError as exc:
                self.emit(ev.Notice(str(exc), "error"))
                return None
            self.emit(ev.Notice(done))
            self.emit(knowledge.view(self._project))
            return None

        return self._submit(run)

    def resolve_conflict(self, conflict_id: str, choice: str, project: str | None = None) -> Future[Any] | None:
        return self._knowledge_act(lambda k, current: k.choose(conflict_id, choice, project or current))

    def revalidate_decision(self, decision_id: str, project: str | None = None) -> Future[Any] | None:
        return self._knowledge_act(lambda k, current: k.revalidate(decision_id, project or current))

    def resolve_thread(self, thread_id: str, status: str = "RESOLVED",
                       project: str | None = None) -> Future[Any] | None:
        return self._knowledge_act(lambda k, current: k.resolve_thread(thread_id, status, project or current))

    # -- search ------------------------------------------------------------------------------
    def search(self, query: str, project: str | None = None) -> Future[Any] | None:
        query = (query or "").strip()
        if not query:
            return None

        def run() -> None:
            search = self.features.search
            if search is None:
                return self._missing("search")
            self.emit(search.query(query, project))
            return None

        return self._submit(run)

    def keep_context(self, sources: list[str]) -> Future[Any] | None:
        def run() -> None:
            search = self.features.search
            if search is None:
                return self._missing("search")
            if not self._saved:
                return None
            self.emit(ev.Notice(search.keep(self._conversation, sources)))
            return None

        return self._submit(run)
