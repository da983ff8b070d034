"""Compress / continue / lineage for the session: the archive feature's service.

Built by the composition root with what it needs (the store, the knowledge
registry, the settings) and handed to the controller, which runs it on its
threads and announces the results. It never reaches back into the controller.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Callable, Sequence

from forge_tui.compression.lineage import lineage
from forge_tui.compression.service import DEFAULT_MAX_TOKENS, CompressionError, compress, continue_from, load_archive
from forge_tui.domain.models import Conversation
from forge_tui.engine.base import KnowledgeEngine
from forge_tui.protocol.render import dump_archive
from forge_tui.session import events as ev
from forge_tui.session.routing import Router, RoutingExhausted
from forge_tui.store.repository import Store

if TYPE_CHECKING:  # pragma: no cover
    from forge_tui.knowledge.registry import Registry

log = logging.getLogger(__name__)


class ArchiveService:
    def __init__(self, store: Callable[[], Store], registry: Callable[[], "Registry"] | None,
                 archive_token_budget: int, router: Router | None = None, wording_tokens: int = DEFAULT_MAX_TOKENS):
        """``router``: compressions follow ``[routing].compress`` when it is set (else the model in use);
        ``wording_tokens``: what the model may write (``compress_wording_tokens``)."""
        self._store = store
        self._registry = registry
        self._budget = archive_token_budget
        self._router = router
        self._wording_tokens = wording_tokens

    @property
    def routed(self) -> bool:
        """Whether compressions follow a ``[routing].compress`` chain (no model of the moment needed)."""
        return self._router is not None and self._router.routes("compress")

    def compress(self, engine: KnowledgeEngine | None, conversation_id: str, *, mode: str,
                 upto_message_id: str | None, context_archives: Sequence[str], on_piece: Callable[[str], None],
                 cancel: threading.Event, project: str, current_model: str,
                 emit: Callable[[ev.Event], None] = lambda event: None) -> ev.ArchiveReady:
        """The archive of ``conversation_id``: the rule-based one first (``ArchiveDrafted`` through
        ``emit``, with ``ArchiveProgressed`` while a long session is read), then the model's wording.
        With no model ready the rule-based archive is the result, and its note says so.
        Raises ``CompressionError`` (with the partial output) when no valid archive came out."""
        store = self._store()

        def attempt(with_engine: KnowledgeEngine | None, require_model: bool = False):
            return compress(
                store, with_engine, conversation_id, mode=mode, upto_message_id=upto_message_id,
                budget_tokens=self._budget, context_archives=tuple(context_archives),
                registry=self._registry() if self._registry else None, on_piece=on_piece, cancel=cancel,
                on_progress=lambda stage, done, total: emit(ev.ArchiveProgressed(conversation_id, stage, done, total)),
                on_draft=lambda yaml_text: emit(ev.ArchiveDrafted(conversation_id, yaml_text)),
                require_model=require_model, max_tokens=self._wording_tokens,
            )

        note = ""
        if self._router is not None and self.routed:
            try:
                result = self._router.run("compress", project, lambda e: attempt(e, require_model=True),
                                          escalate_on=(CompressionError,), current=current_model, cancel=cancel,
                                          rules=lambda: attempt(None)).value
            except RoutingExhausted as exc:
                if cancel.is_set():
                    raise CompressionError("compression cancelled") from None
                note = f"no model in the compress chain could write it ({exc})"
                result = attempt(None)
        elif engine is None or not engine.ready:
            note = "no model is ready (pick one with ctrl+m or f2 for wording)"
            result = attempt(None)
        else:
            result = attempt(engine)
        if result.model_note:
            note = f"the model's wording was not used: {result.model_note}"
        return ev.ArchiveReady(conversation_id, result.archive_id, result.yaml_text, result.tokens_source,
                               result.tokens_archive, mode, list(result.dropped), note)

    def continue_from(self, archive_id: str) -> tuple[Conversation, str]:
        """A new conversation continuing ``archive_id`` (lineage written, knowledge re-hydrated),
        and the archive's continuation prompt (for retrieval). Raises ``CompressionError``."""
        store = self._store()
        conv = continue_from(store, archive_id)
        archive = load_archive(store, archive_id)
        if self._registry is not None:
            from forge_tui.knowledge.decay import rehydrate

            try:
                rehydrate(self._registry(), archive, conv.id)
            except Exception:  # knowledge is secondary: the continued conversation exists already
                log.exception("re-hydrating archive %s failed", archive_id)
        return conv, str(archive.get("continuation_prompt") or conv.title)

    def latest_archive_id(self, conversation_id: str) -> str | None:
        edges = self._store().edges_from(conversation_id, "compressed_into")
        if not edges:
            return None
        return str(max(edges, key=lambda e: str(e.get("created_at") or ""))["dst"])

    def archive_of(self, conversation: Conversation) -> ev.ArchiveLoaded:
        """What the archive pane shows for ``conversation``: its latest archive, else the one it continues from."""
        archive_id = self.latest_archive_id(conversation.id)
        continued = archive_id is None and bool(conversation.archive_context)
        if continued:
            archive_id = conversation.archive_context
        if archive_id is None:
            return ev.ArchiveLoaded(conversation.id, None)
        try:
            archive = load_archive(self._store(), archive_id)
        except CompressionError:  # an edge to an archive that is gone: nothing to show
            log.warning("archive %s of %s not found", archive_id, conversation.id)
            return ev.ArchiveLoaded(conversation.id, None)
        header = archive.get("header") or {}
        tokens = header.get("tokens") or {}
        return ev.ArchiveLoaded(conversation.id, str(header.get("archive_id") or archive_id), dump_archive(archive),
                                int(tokens.get("source") or 0), int(tokens.get("archive") or 0),
                                str(header.get("mode") or ""), continued)

    def lineage(self, node: str, titles: dict[str, str]) -> ev.LineageListed:
        found = lineage(self._store(), node)
        return ev.LineageListed(node, str(found.get("type", "")), list(found.get("ancestors", [])),
                                list(found.get("descendants", [])), dict(titles))
