"""Embed every final message, once per model, as it is persisted.

The session calls ``on_turn_persisted(message_id)`` after each write and
``embed_pending()`` from a worker (at start-up once the embedder is ready, after
an import, or on a timer). Both are cheap when nothing is new: the message feed
asks MongoDB only for turns updated since its watermark. Messages written while
the embedder was still loading are picked up by the first ``embed_pending`` —
none is skipped — and a streaming assistant turn is embedded only once closed.

The same pipeline, given another embedder, is the re-embedding engine: it
writes vectors under that model's name beside the existing ones, so an
interrupted run simply continues where it stopped.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

from forge_tui.search.embedder import Embedder, EmbedderError
from forge_tui.search.message_feed import FIELDS, MessageFeed, is_final
from forge_tui.search.passages import fingerprint, passage
from forge_tui.store.vectors import chunked, vector_doc

#: Batches encoded per call and written together (an interruption loses at most this much work).
WRITE_EVERY_BATCHES = 8

ProgressFn = Callable[[int, int], None]  # (done, total)


class EmbeddingPipeline:
    def __init__(self, store: Any, embedder: Embedder, rescan_s: float = 300.0, chunk_size: int | None = None):
        self.store = store
        self.chunk_size = chunk_size or embedder.batch_size * WRITE_EVERY_BATCHES
        self.embedder = embedder
        self.model = embedder.name
        self.vectors = store.vectors
        self._feed: MessageFeed | None = None
        self._rescan_s = rescan_s
        self._lock = threading.Lock()  # one embedding pass at a time
        self.last_error: str | None = None

    @property
    def feed(self) -> MessageFeed:
        if self._feed is None:
            self._feed = MessageFeed(
                self.store, self.vectors.hashes(self.model, self.embedder.dim or None), rescan_s=self._rescan_s
            )
        return self._feed

    # -- the calls the session makes ---------------------------------------------
    def on_turn_persisted(self, message_id: str) -> bool:
        """Embed one just-written turn now if it is final and the embedder is ready.

        Returns False (without waiting) while the embedder loads or for a
        streaming turn: the next ``embed_pending`` catches it up.
        """
        if not self.embedder.is_ready:
            return False
        doc = self.store.message_doc(message_id, FIELDS)
        if doc is None or not is_final(doc):
            return False
        with self._lock:
            if self.feed.is_current(doc):
                return False
            return self._embed_docs([doc]) == 1

    def embed_pending(
        self,
        limit: int | None = None,
        full_scan: bool = False,
        on_progress: ProgressFn | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> int:
        """Embed final messages that have no (current) vector for this model.

        Returns how many were embedded; 0 at once while the embedder is not
        ready. ``limit`` caps one call (the rest stays pending); ``should_stop``
        is checked between chunks. Each chunk (8 batches by default) is written before the
        next one starts, so an interruption loses at most one chunk of work.
        """
        if not self.embedder.is_ready:
            self.last_error = self.embedder.error
            return 0
        with self._lock:
            pending = self.feed.poll(full=full_scan)
            if limit is not None:
                pending = pending[: max(0, limit)]
            total, done = len(pending), 0
            if on_progress:
                on_progress(0, total)
            # several batches per encode call: sentence-transformers sorts a call's texts by length,
            # so bigger calls pad less (measured 2x faster than one call per batch)
            for batch in chunked(pending, self.chunk_size):
                if should_stop and should_stop():
                    break
                done += self._embed_docs(batch)
                if on_progress:
                    on_progress(done, total)
            if self.feed.caught_up:
                self._maybe_activate()
            return done

    def pending(self, full_scan: bool = True) -> int:
        """How many final messages still lack a current vector for this model."""
        with self._lock:
            return len(self.feed.poll(full=full_scan))

    def is_complete(self) -> bool:
        return self.pending(full_scan=True) == 0

    # -- internals -----------------------------------------------------------
    def _embed_docs(self, docs: list[dict[str, Any]]) -> int:
        try:
            vectors = self.embedder.embed([passage(d) for d in docs])
        except EmbedderError as exc:
            self.last_error = str(exc)
            return 0
        self.vectors.write([vector_doc(d, self.model, v, fingerprint(d)) for d, v in zip(docs, vectors)])
        for d in docs:
            self.feed.mark(d)
        return len(docs)

    def _maybe_activate(self) -> None:
        """First complete pass on a store with no active model: this model becomes active."""
        if self.vectors.active_model() is None and self.embedder.dim:
            self.vectors.set_active_model(self.model, self.embedder.dim)
