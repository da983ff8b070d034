"""Search and retrieval as commands on the session (issue 5).

Events (``FeatureEvent.kind``):

* ``search_results``  {query, hits: [SearchHit.to_dict()], notes, error}
* ``context_offered`` {conversation_id, items: [ContextItem fields + kept], budget}

Retrieved context lives on the conversation document (``context_items``), so it
survives restarts; the user drops items with ``keep_context(sources)`` and only
kept items reach the model.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import TYPE_CHECKING, Any, Callable

from forge_tui.search.retrieval import retrieve_context
from forge_tui.session import events as ev

if TYPE_CHECKING:  # pragma: no cover
    from forge_tui.domain.models import Conversation
    from forge_tui.search.hybrid import SearchService
    from forge_tui.session.controller import SessionController

log = logging.getLogger(__name__)


class SearchActions:
    def __init__(self, controller: "SessionController", search_factory: Callable[[], "SearchService"],
                 embedder: Any = None, registry_factory: Callable[[], Any] | None = None):
        self.c = controller
        self._search_factory = search_factory
        self.embedder = embedder
        self._registry_factory = registry_factory

    @property
    def service(self) -> "SearchService":
        return self._search_factory()

    # -- search --------------------------------------------------------------
    def query(self, text: str, project: str | None = None, limit: int = 20):
        text = (text or "").strip()
        if not text:
            return None
        return self.c.submit(self._query, text, project, limit)

    def _query(self, text: str, project: str | None, limit: int) -> None:
        result = self.service.search_with_notes(text, project=project, limit=limit)
        notes = list(result.notes)
        if not result.hits and self.c.require_store().messages.estimated_document_count() == 0:
            notes.append("The store has no messages yet: chat, or bring history in with `forge import`.")
        self.c.emit(ev.FeatureEvent("search_results", {
            "query": text, "hits": [h.to_dict() for h in result.hits], "notes": notes, "error": None,
            "semantic": result.semantic,
        }))

    # -- retrieval into sessions ----------------------------------------------
    def offer_for(self, conv: "Conversation", opening_text: str) -> list[dict]:
        """Retrieve context for a conversation's opening and store it on the conversation."""
        settings = self.c.settings
        try:
            items = retrieve_context(
                self.c.store, self.embedder if self.embedder and self.embedder.is_ready else None,
                conv.project, opening_text, settings.retrieval_token_budget,
                sandboxed_projects=settings.sandboxed_projects,
                registry=self._registry_factory() if self._registry_factory else None,
                search=self.service, exclude_conversation=conv.id,
                in_context=[opening_text],  # the model sees the opening anyway: no earlier copy of it
            )
        except Exception:  # retrieval is an offer: the conversation goes on without it
            log.exception("retrieval failed")
            return []
        rows = [{**asdict(item), "kept": True} for item in items if not self._already_there(conv, item.source)]
        conv.context_items = rows
        self.c.require_store().update_conversation(conv.id, context_items=rows)
        if rows:
            self.c.emit(ev.FeatureEvent("context_offered", {
                "conversation_id": conv.id, "items": rows, "budget": settings.retrieval_token_budget}))
        return rows

    def _already_there(self, conv: "Conversation", source: str) -> bool:
        """Items the model sees anyway: this conversation's own turns, the archive it continues."""
        if conv.archive_context and source.startswith(f"archive:{conv.archive_context}"):
            return True
        if source.startswith("message:"):
            return self.c.require_store().messages.count_documents(
                {"_id": source.split(":", 1)[1], "conversation_id": conv.id}, limit=1) > 0
        return False

    def keep_context(self, sources: list[str]):
        """Keep only these offered items (by ``source``); the others no longer reach the model."""
        conv = self.c.conversation
        if conv is None:
            return None
        keep = set(sources)

        def run() -> None:
            for row in conv.context_items:
                row["kept"] = row["source"] in keep
            self.c.require_store().update_conversation(conv.id, context_items=conv.context_items)
            dropped = sum(1 for r in conv.context_items if not r["kept"])
            self.c.emit(ev.Notice(f"Context: {len(conv.context_items) - dropped} kept, {dropped} dropped."))

        return self.c.submit(run)
