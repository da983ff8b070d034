"""Search and retrieval for the session.

Retrieved context lives on the conversation document (``context_items``), so it
survives restarts; the user drops items with ``keep`` and only kept items reach
the model. Built by the composition root; the controller runs it on its worker.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import TYPE_CHECKING, Any, Callable

from forge_tui.config import Settings
from forge_tui.domain.models import Conversation
from forge_tui.search.retrieval import retrieve_context
from forge_tui.session import events as ev
from forge_tui.store.repository import Store

if TYPE_CHECKING:  # pragma: no cover
    from forge_tui.search.hybrid import SearchService

log = logging.getLogger(__name__)


class SearchCommands:
    def __init__(self, store: Callable[[], Store], search: Callable[[], "SearchService"], settings: Settings,
                 embedder: Any = None, registry: Callable[[], Any] | None = None):
        self._store = store
        self._search = search
        self._settings = settings
        self._embedder = embedder
        self._registry = registry

    def query(self, text: str, project: str | None, limit: int = 20) -> ev.SearchResults:
        result = self._search().search_with_notes(text, project=project, limit=limit)
        notes = list(result.notes)
        if not result.hits and not self._store().has_messages():
            notes.append("The store has no messages yet: chat, or bring history in with `forge import`.")
        return ev.SearchResults(text, [h.to_dict() for h in result.hits], notes, None, bool(result.semantic))

    def offer_for(self, conv: Conversation, opening_text: str) -> ev.ContextOffered | None:
        """Retrieve context for a conversation's opening and store it on the conversation."""
        settings = self._settings
        store = self._store()
        try:
            items = retrieve_context(
                store, self._embedder if self._embedder is not None and self._embedder.is_ready else None,
                conv.project, opening_text, settings.retrieval_token_budget,
                sandboxed_projects=settings.sandboxed_projects,
                registry=self._registry() if self._registry else None,
                search=self._search(), exclude_conversation=conv.id,
                in_context=[opening_text],  # the model sees the opening anyway: no earlier copy of it
            )
        except Exception:  # retrieval is an offer: the conversation goes on without it
            log.exception("retrieval failed")
            return None
        rows = [{**asdict(item), "kept": True} for item in items if not self._already_there(store, conv, item.source)]
        conv.context_items = rows
        store.update_conversation(conv.id, context_items=rows)
        return ev.ContextOffered(conv.id, rows, settings.retrieval_token_budget) if rows else None

    @staticmethod
    def _already_there(store: Store, conv: Conversation, source: str) -> bool:
        """Items the model sees anyway: this conversation's own turns, the archive it continues."""
        if conv.archive_context and source.startswith(f"archive:{conv.archive_context}"):
            return True
        if source.startswith("message:"):
            return store.turn_in_conversation(source.split(":", 1)[1], conv.id)
        return False

    def keep(self, conv: Conversation, sources: list[str]) -> str:
        """Keep only these offered items (by ``source``); the others no longer reach the model."""
        keep = set(sources)
        for row in conv.context_items:
            row["kept"] = row["source"] in keep
        self._store().update_conversation(conv.id, context_items=conv.context_items)
        dropped = sum(1 for r in conv.context_items if not r["kept"])
        return f"Context: {len(conv.context_items) - dropped} kept, {dropped} dropped."
