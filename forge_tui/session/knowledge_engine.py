"""The full KnowledgeEngine: generation and embedding from the model layer, plus
``compress``, ``continue_`` and ``decide`` bound to them.

The protocol services live below the session layer (``compression``,
``knowledge.decide``) and take any engine that can ``generate``; this facade is
what binds them to the engine of the moment and the store, so callers ask one
object for everything. The root builds it around each ``LlamaEngine``.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

from forge_tui.compression.service import CompressionResult, compress, continue_from
from forge_tui.domain.models import Conversation
from forge_tui.knowledge.decide import DecideOptions, decide


class ForgeKnowledgeEngine:
    def __init__(self, engine: Any, store_factory: Callable[[], Any]):
        self.engine = engine  # the model: generate, count_tokens, embed, loading, close
        self._store_factory = store_factory

    def __getattr__(self, name: str) -> Any:  # generate, embed, count_tokens, n_ctx, model_name, ready...
        return getattr(self.engine, name)

    def compress(self, conversation_id: str, **options: Any) -> CompressionResult:
        """Compress a stored conversation into a validated archive (see ``compression.compress``)."""
        return compress(self._store_factory(), self, conversation_id, **options)

    def continue_(self, archive_id: str, *, title: str | None = None) -> Conversation:
        """Start a new conversation from an archive, linked in the lineage."""
        return continue_from(self._store_factory(), archive_id, title=title)

    def decide(self, context: str, options: DecideOptions, cancel: threading.Event | None = None) -> dict:
        """One grammar-constrained structured answer (decisions, threads) about ``context``."""
        return decide(self, context, options, cancel)
