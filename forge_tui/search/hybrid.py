"""Hybrid search over every message: semantic (cosine) + keyword (BM25),
fused from standardised scores (``fusion``), across all projects or one.

Both indexes live in process, are built lazily on the first search (or in a
worker via ``warm_up()``), and are brought up to date before each search with
an indexed "what changed since" query, so new turns are searchable at once.
The keyword path needs no model: while the embedder is still loading (or could
not load), search returns keyword results with a note saying so. Where the
MongoDB server offers ``$vectorSearch`` (Atlas), the semantic half uses it;
SecantusDB does not, so the in-process index is the normal path.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timezone
from typing import Any

import numpy as np
from pymongo.errors import OperationFailure, PyMongoError

from forge_tui.search.embedder import Embedder, EmbedderError
from forge_tui.search.fusion import CANDIDATES, SEMANTIC_WEIGHT, Ranking, fuse, fused_score
from forge_tui.search.hits import SearchHit, SearchResult
from forge_tui.search.keyword_index import KeywordIndex, terms
from forge_tui.search.message_feed import MessageFeed, previous_turns
from forge_tui.search.passages import ROLE_NAMES, keyword_context, passage, query_passage, speaker
from forge_tui.search.rerank import RERANK_DEPTH, Candidate, context_scores, features, packaged_model
from forge_tui.search.snippets import make_snippet
from forge_tui.search.vector_index import VectorIndex
from forge_tui.search.windows import ordering_scores, with_neighbours
from forge_tui.store.vectors import vector_to_binary

log = logging.getLogger(__name__)

MODES = ("hybrid", "keyword", "semantic")
#: What a hit (and the reranker) reads of a message document.
HIT_FIELDS = {"project": 1, "conversation_id": 1, "seq": 1, "role": 1, "created_at": 1, "content": 1, "source.name": 1}
VECTOR_SEARCH_INDEX = "forge_vectors"


class SearchService:
    """``search(query, project=None, limit=10)`` over the whole store.

    With both halves present, the fused ranking's best ``RERANK_DEPTH`` are ordered again: by
    default through turn windows (``windows``: neighbours of the best join the candidates, a turn
    gains from its neighbours' scores and from being written on a date the query names), then
    with ``rerank.CONTEXT_BOOST`` (hits from the conversation most of the best come from,
    turns of a speaker the query names, longer turns and, for "when" questions, turns that mention a
    time move up: five hand-set numbers), with ``rerank=True`` by
    the learnt reranker instead (its shipped weights may only be learnt from data Forge owns; they
    gain little on LoCoMo and lose on the search fixture, bench/README.md), with ``boost=False``
    not at all.
    """

    def __init__(
        self, store: Any, embedder: Embedder | None, candidates: int = CANDIDATES,
        semantic_weight: float = SEMANTIC_WEIGHT, rerank: bool = False, boost: bool = True,
    ):
        self.store = store
        self.embedder = embedder
        self.candidates = candidates
        self.semantic_weight = semantic_weight
        self.rerank = rerank
        self.boost = boost
        self.vectors = store.vectors
        self._keyword = KeywordIndex()
        self._previous_of: dict[str, str] = {}  # message id -> the turn before it (the one it answers)
        self._next_of: dict[str, str] = {}
        self._created_at: dict[str, datetime | None] = {}  # message id -> when it was written (dates a query names)
        self._speakers: dict[str | None, set[str]] = {None: set()}  # project (None: all) -> speakers' names
        # no periodic full rescan inside a search (seconds at 100k messages): turns written
        # with old timestamps (imports) come in through ``refresh(full=True)`` from a worker
        self._keyword_feed = MessageFeed(store, rescan_s=0)
        self._vector: VectorIndex | None = None
        self._vector_model: str | None = None
        self._vector_polled_at: datetime | None = None  # wall clock when the last vector poll started
        self._vector_seen: dict[str, Any] = {}  # message id -> embedded_at of the indexed vector
        self._vector_rejected_dims: set[int] = set()
        self._server_vector_search: bool | None = None
        self._lock = threading.RLock()

    # -- index maintenance ---------------------------------------------------
    def set_embedder(self, embedder: Embedder | None) -> None:
        """Use another model (after a switch): the vector index is rebuilt for it on the next search."""
        with self._lock:
            self.embedder = embedder
            self._vector = None
            self._server_vector_search = None

    def status(self) -> dict[str, Any]:
        """What the search screen can show: index sizes and whether semantic search is on."""
        emb = self.embedder
        return {
            "messages_indexed": len(self._keyword),
            "vectors_indexed": len(self._vector) if self._vector is not None else 0,
            "model": emb.name if emb else None,
            "semantic_ready": bool(emb and emb.is_ready),
            "embedder_error": emb.error if emb else None,
        }

    def warm_up(self) -> None:
        """Build both indexes now (call from a worker at start-up)."""
        with self._lock:
            self._sync_keyword()
            self._sync_vectors()

    def refresh(self, full: bool = False) -> None:
        """Catch up with new messages and vectors.

        Searches catch up by themselves with turns written live; ``full=True``
        rescans every message, which is how imported turns (older timestamps)
        get in: call it from a worker after an import and every few minutes.
        """
        with self._lock:
            self._sync_keyword(full)
            self._sync_vectors()

    def refresh_conversations(self, conversation_ids: list[str]) -> None:
        """Index the turns of these conversations now (another process wrote them, e.g. an import)."""
        with self._lock:
            self._index_keyword(self._keyword_feed.poll_conversations(conversation_ids))
            self._sync_vectors()

    def _sync_keyword(self, full: bool = False) -> None:
        self._index_keyword(self._keyword_feed.poll(full=full))

    def _index_keyword(self, docs: list[dict[str, Any]]) -> None:
        previous = previous_turns(self.store, docs) if docs else {}
        for doc in docs:
            before = previous.get(doc["_id"])
            self._keyword.add(doc["_id"], passage(doc), doc.get("project") or "default",
                              context=keyword_context(before))
            if before is not None and before.get("_id"):
                # the reranker's neighbours, kept here: a database query for them costs the server
                # ~10x the search itself at 100k messages (bench/search_latency.py)
                self._previous_of[doc["_id"]] = before["_id"]
                self._next_of[before["_id"]] = doc["_id"]
            self._created_at[doc["_id"]] = doc.get("created_at")
            name = speaker(doc)
            if name.lower() not in ROLE_NAMES:
                self._speakers.setdefault(doc.get("project") or "default", set()).add(name)
                self._speakers[None].add(name)
            self._keyword_feed.mark(doc)

    def _sync_vectors(self) -> None:
        emb = self.embedder
        if emb is None or not emb.is_ready or not emb.dim:
            return
        if self._vector is None or self._vector_model != emb.name or self._vector.dim != emb.dim:
            self._vector = VectorIndex(emb.dim)
            self._vector_model = emb.name
            self._vector_polled_at = None
            self._vector_seen = {}
            self._vector_rejected_dims = set()
        started = datetime.now(timezone.utc)
        ids, rows, projects = [], [], []
        # vectors written since the previous poll (less a slack); re-reading a few just replaces rows
        since = self._vector_polled_at
        for sv in self.vectors.iter_vectors(emb.name, since=since, seen=self._vector_seen if since else None):
            self._vector_seen[sv.message_id] = sv.embedded_at
            if sv.dim != emb.dim:
                self._vector_rejected_dims.add(sv.dim)
                continue
            ids.append(sv.message_id)
            rows.append(sv.vector)
            projects.append(sv.project)
        if ids:
            self._vector.add_many(ids, np.vstack(rows), projects)
        self._vector_polled_at = started

    # -- search --------------------------------------------------------------
    def search(self, query: str, project: str | None = None, limit: int = 10) -> list[SearchHit]:
        return self.search_with_notes(query, project, limit).hits

    def search_with_notes(
        self, query: str, project: str | None = None, limit: int = 10, mode: str = "hybrid"
    ) -> SearchResult:
        """``mode``: ``hybrid`` (both halves fused), ``keyword`` or ``semantic`` (one half alone)."""
        if mode not in MODES:
            raise ValueError(f"unknown search mode {mode!r}; use one of {', '.join(MODES)}")
        query = (query or "").strip()
        notes: list[str] = []
        if not query:
            return SearchResult([], ["type something to search for"])
        if not terms(query):
            return SearchResult([], [
                "the query has only common words or punctuation: add a word that says what to look for"
            ])
        limit = max(1, int(limit))
        with self._lock:
            try:
                self._sync_keyword()
                self._sync_vectors()
            except PyMongoError as exc:
                return SearchResult([], [f"the message store cannot be read ({exc}); check that the server is running"])
            if len(self._keyword) == 0:
                return SearchResult([], ["no messages yet: chat or import conversations (`forge import …`) first"])
            if project is not None and not self._keyword.has_project(project):
                return SearchResult([], [f"project '{project}' has no messages yet: search every project, "
                                         "or chat or import into it first"])
            keyword = None
            if mode != "semantic":
                rows = self._keyword.scores(query, project)
                if rows is not None:
                    keyword = Ranking.from_rows("keyword", rows, self._keyword.row_of, self.candidates)
            semantic = self._semantic(query, project, notes) if mode != "keyword" else None
            try:
                trashed = self.store.trashed_message_ids()
            except PyMongoError as exc:
                return SearchResult([], [f"the message store cannot be read ({exc}); check that the server is running"])
        halves = [r for r in (semantic, keyword) if r is not None]
        fused = fuse(halves, self.semantic_weight)
        both = semantic is not None and bool(semantic.candidates) and keyword is not None
        order_by = fused
        if both and self.boost and not self.rerank:  # the learnt reranker reads the neighbours itself
            score_of = fused_score(halves, self.semantic_weight)
            fused = with_neighbours(fused, score_of, self._previous_of, self._next_of)
            order_by = ordering_scores(query, fused, score_of, self._previous_of, self._next_of, self._created_at)
        # turns of conversations in the trash stay indexed (a restore brings them back at once) but never come out
        fused = {d: score for d, score in fused.items() if d not in trashed}
        ordered = sorted(fused, key=lambda d: (-order_by[d], d))
        docs: dict[str, dict[str, Any]] = {}
        relevance: dict[str, float] = {}
        try:
            if both and (self.rerank or self.boost):
                head, docs, relevance = self._reordered(query, ordered[:max(limit, RERANK_DEPTH)], order_by,
                                                        semantic, keyword)
                ordered[:len(head)] = head
            ordered = ordered[:limit]
            matched = {d: tuple(r.name for r in (semantic, keyword) if r is not None and r.matched(d))
                       for d in ordered}
            hits = self._hydrate(ordered, fused, matched, query, docs, relevance)
        except PyMongoError as exc:
            return SearchResult([], [f"the message store cannot be read ({exc}); check that the server is running"])
        if not hits and not notes:
            notes.append("no matches" + (f" in project '{project}'" if project else ""))
        return SearchResult(hits, notes, semantic=semantic is not None and bool(semantic.candidates))

    def _semantic(self, query: str, project: str | None, notes: list[str]) -> Ranking | None:
        emb = self.embedder
        if emb is None:
            notes.append("keyword results only: no embedding model configured")
            return None
        if not emb.is_ready:
            notes.append(
                f"keyword results only: {emb.error}" if emb.error
                else "keyword results only: the embedding model is still loading"
            )
            return None
        notes.extend(self.consistency_notes())
        try:
            qvec = emb.embed([query_passage(query, self._speakers.get(project, ()))])[0]
        except EmbedderError as exc:
            notes.append(f"keyword results only: {exc}")
            return None
        if self._use_server_vector_search():
            scored = self._server_semantic(qvec, project)
            if scored is not None:
                return Ranking.from_list("semantic", scored)
        if self._vector is None or len(self._vector) == 0:
            notes.append(
                f"keyword results only: no message has a '{emb.name}' vector yet (they are embedded in the "
                f"background; or run `forge embeddings reembed --model {emb.name}`)"
            )
            return None
        rows = self._vector.scores(qvec, project)
        return Ranking.from_rows("semantic", rows, self._vector.row_of, self.candidates) if rows is not None else None

    def consistency_notes(self) -> list[str]:
        """Explain vectors that cannot be compared with the configured model, naming the fix."""
        emb = self.embedder
        if emb is None or not emb.is_ready:
            return []
        notes = []
        fix = f"run `forge embeddings reembed --model {emb.name}`"
        active = self.vectors.active_model()
        if active and active["model"] != emb.name:
            dims = f" ({active['dim']}-d vs {emb.dim}-d)" if active["dim"] and active["dim"] != emb.dim else ""
            notes.append(
                f"stored vectors belong to '{active['model']}' but the configured model is '{emb.name}'{dims}: "
                f"semantic search uses only the {len(self._vector or [])} messages already embedded with "
                f"'{emb.name}'; {fix}"
            )
        if self._vector_rejected_dims:
            got = ", ".join(str(d) for d in sorted(self._vector_rejected_dims))
            notes.append(
                f"some vectors stored as '{emb.name}' have {got} dimensions but the model gives {emb.dim}: "
                f"they are skipped; {fix}"
            )
        return notes

    # -- $vectorSearch (servers that offer it) ------------------------------
    def _use_server_vector_search(self) -> bool:
        if self._server_vector_search is None:
            self._server_vector_search = self._probe_vector_search()
        return self._server_vector_search

    def _probe_vector_search(self) -> bool:
        try:
            self.vectors.server_search(VECTOR_SEARCH_INDEX, [0.0] * max(self.embedder.dim, 1), limit=1, num_candidates=1)
        except (OperationFailure, PyMongoError) as exc:
            log.debug("$vectorSearch unavailable: %s", exc)
            return False
        return True

    def _server_semantic(self, qvec: np.ndarray, project: str | None) -> list[tuple[str, float]] | None:
        filt: dict[str, Any] = {"model": self.embedder.name}
        if project is not None:
            filt["project"] = project
        try:
            return self.vectors.server_search(VECTOR_SEARCH_INDEX, vector_to_binary(qvec), limit=self.candidates,
                                              num_candidates=self.candidates * 10, filt=filt)
        except PyMongoError as exc:
            log.warning("$vectorSearch failed, using the in-process index: %s", exc)
            self._server_vector_search = False
            return None

    # -- reordering the fused best -------------------------------------------
    def _reordered(
        self, query: str, head: list[str], fused: dict[str, float], semantic: Ranking, keyword: Ranking
    ) -> tuple[list[str], dict[str, dict[str, Any]], dict[str, float]]:
        """``head`` (the best by ``fused``: the fused scores, or what the windows made of them) ordered
        again, their documents, and each one's probability (the learnt reranker's only)."""
        docs = {d["_id"]: d for d in self.store.message_docs(head, HIT_FIELDS)}
        present = [d for d in head if d in docs]
        if len(present) < 2:
            return head, docs, {}
        candidates = []
        for d in present:
            doc = docs[d]
            conv, seq = doc.get("conversation_id") or "", int(doc.get("seq") or 0)
            before, after = self._previous_of.get(d), self._next_of.get(d)
            candidates.append(Candidate(
                d, semantic.z(d), keyword.z(d), fused[d], conv, seq, speaker(doc), str(doc.get("content") or ""),
                previous_semantic_z=semantic.z(before) if before else 0.0,
                next_semantic_z=semantic.z(after) if after else 0.0,
                previous_keyword_z=keyword.z(before) if before else 0.0,
                next_keyword_z=keyword.z(after) if after else 0.0,
            ))
        x = features(query, candidates, keyword.idf())
        scores = packaged_model().scores(x) if self.rerank else context_scores(x)
        score = {c.doc_id: float(p) for c, p in zip(candidates, scores)}
        order = sorted(present, key=lambda d: (-score[d], -fused[d], d))
        # only the learnt reranker's scores read as probabilities
        return order + [d for d in head if d not in docs], docs, score if self.rerank else {}

    # -- results -------------------------------------------------------------
    def _hydrate(
        self, ordered: list[str], fused: dict[str, float], matched: dict[str, tuple[str, ...]], query: str,
        docs: dict[str, dict[str, Any]], relevance: dict[str, float],
    ) -> list[SearchHit]:
        if not ordered:
            return []
        missing = [d for d in ordered if d not in docs]
        if missing:
            docs = {**docs, **{d["_id"]: d for d in self.store.message_docs(missing, HIT_FIELDS)}}
        titles = self.store.conversation_titles({docs[d].get("conversation_id") for d in ordered if d in docs})
        hits = []
        for mid in ordered:
            doc = docs.get(mid)
            if doc is None:  # deleted since it was indexed
                continue
            snippet, spans = make_snippet(doc.get("content") or "", query)
            if not snippet:  # a blank turn (matched through the turn before it) has nothing to show
                continue
            hits.append(SearchHit(
                project=doc.get("project") or "default",
                conversation_id=doc.get("conversation_id") or "",
                conversation_title=titles.get(doc.get("conversation_id"), ""),
                message_id=mid,
                seq=int(doc.get("seq") or 0),
                role=str(doc.get("role") or ""),
                created_at=doc.get("created_at"),
                snippet=snippet,
                spans=tuple(spans),
                score=fused[mid],
                matched_by=matched[mid],
                relevance=relevance.get(mid),
            ))
        return hits
