"""Changing embedding models safely: compare two models, re-embed, switch.

``compare_models`` answers "would search results change?": it samples user
messages as queries and measures, per query, the Jaccard overlap of the top-k
neighbours each model finds in the corpus (the query message itself excluded).
A model compared with itself scores 1.0.

``reembed`` writes the new model's vectors *beside* the old ones (``_id`` ends
in the model name), batch by batch, so an interrupted run continues where it
stopped; the ``meta`` document switches to the new model only once every
message has a vector, and the old vectors stay.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from forge_tui.search.embedder import Embedder
from forge_tui.search.message_feed import FIELDS, is_final
from forge_tui.search.passages import fingerprint, passage
from forge_tui.search.pipeline import EmbeddingPipeline


ProgressFn = Callable[[int, int], None]


class MigrationError(Exception):
    """A comparison or re-embedding that cannot run; the message names the fix."""


@dataclass
class QueryOverlap:
    message_id: str
    query: str
    overlap: float
    top_a: list[str]
    top_b: list[str]


@dataclass
class CompareReport:
    model_a: str
    model_b: str
    k: int
    corpus_size: int
    per_query: list[QueryOverlap] = field(default_factory=list)

    @property
    def mean_overlap(self) -> float:
        return float(np.mean([q.overlap for q in self.per_query])) if self.per_query else 0.0


def jaccard(a: list[str], b: list[str]) -> float:
    sa, sb = set(a), set(b)
    return 1.0 if not sa and not sb else len(sa & sb) / len(sa | sb)


def _corpus(store: Any) -> list[dict[str, Any]]:
    docs = [d for d in store.all_message_docs(FIELDS) if is_final(d)]
    docs.sort(key=lambda d: d["_id"])
    return docs


def _matrix(store: Any, embedder: Embedder, docs: list[dict[str, Any]], on_progress: ProgressFn | None) -> np.ndarray:
    """Vectors for ``docs``: stored ones when current, the rest embedded in memory (nothing written)."""
    stored: dict[str, np.ndarray] = {}
    wanted = {d["_id"]: fingerprint(d) for d in docs}
    for mid, stored_hash, vec in store.vectors.current_vectors(embedder.name):
        if vec is not None and vec.shape[0] == embedder.dim and wanted.get(mid) == stored_hash:
            stored[mid] = vec
    out = np.zeros((len(docs), embedder.dim), dtype=np.float32)
    todo = [i for i, d in enumerate(docs) if d["_id"] not in stored]
    for i, d in enumerate(docs):
        if d["_id"] in stored:
            out[i] = stored[d["_id"]]
    done = len(docs) - len(todo)
    if on_progress:
        on_progress(done, len(docs))
    step = max(embedder.batch_size, 64)
    for start in range(0, len(todo), step):
        chunk = todo[start:start + step]
        out[chunk] = embedder.embed([passage(docs[i]) for i in chunk])
        done += len(chunk)
        if on_progress:
            on_progress(done, len(docs))
    return out


def _require(embedder: Embedder) -> None:
    if not embedder.wait():
        raise MigrationError(embedder.error or f"the embedding model '{embedder.name}' did not load")


def compare_models(
    store: Any,
    embedder_a: Embedder,
    embedder_b: Embedder,
    queries: int = 20,
    k: int = 5,
    seed: int = 0,
    on_progress: ProgressFn | None = None,
) -> CompareReport:
    """Mean and per-query top-``k`` Jaccard overlap between two models over the stored corpus."""
    docs = _corpus(store)
    users = [i for i, d in enumerate(docs) if d.get("role") == "user"]
    if len(docs) < 2 or not users:
        raise MigrationError("there are no messages to compare on yet: chat or `forge import …` first")
    _require(embedder_a)
    _require(embedder_b)
    sample = sorted(random.Random(seed).sample(users, min(max(1, queries), len(users))))
    report = CompareReport(embedder_a.name, embedder_b.name, k, len(docs))
    total = 2 * len(docs)
    progress_a = (lambda d, t: on_progress(d, total)) if on_progress else None
    progress_b = (lambda d, t: on_progress(len(docs) + d, total)) if on_progress else None
    mat_a = _matrix(store, embedder_a, docs, progress_a)
    mat_b = mat_a if embedder_b.name == embedder_a.name else _matrix(store, embedder_b, docs, progress_b)
    for qi in sample:
        tops = []
        for mat in (mat_a, mat_b):
            scores = mat @ mat[qi]
            scores[qi] = -np.inf  # the query's own message is not a neighbour
            kk = min(k, len(docs) - 1)
            top = np.argpartition(-scores, kk - 1)[:kk]
            tops.append([docs[i]["_id"] for i in top[np.argsort(-scores[top], kind="stable")]])
        report.per_query.append(QueryOverlap(docs[qi]["_id"], docs[qi]["content"], jaccard(*tops), *tops))
    return report


@dataclass
class ReembedReport:
    model: str
    dim: int
    embedded: int
    remaining: int
    switched: bool
    previous: str | None

    @property
    def complete(self) -> bool:
        return self.remaining == 0


def reembed(
    store: Any,
    embedder: Embedder,
    on_progress: ProgressFn | None = None,
    should_stop: Callable[[], bool] | None = None,
    limit: int | None = None,
    chunk_size: int | None = None,
) -> ReembedReport:
    """Embed every message lacking a current vector for ``embedder``'s model; switch when complete.

    Safe to interrupt (``should_stop``, ``limit``, Ctrl-C): written batches stay,
    and the next run only does what is left.
    """
    _require(embedder)
    pipeline = EmbeddingPipeline(store, embedder, chunk_size=chunk_size)
    done = pipeline.embed_pending(limit=limit, full_scan=True, on_progress=on_progress, should_stop=should_stop)
    remaining = pipeline.pending(full_scan=True)
    vectors = store.vectors
    previous = vectors.active_model()
    switched = False
    if remaining == 0 and (previous is None or previous["model"] != embedder.name or previous["dim"] != embedder.dim):
        vectors.set_active_model(embedder.name, embedder.dim)
        switched = True
    return ReembedReport(embedder.name, embedder.dim, done, remaining, switched,
                         previous["model"] if previous else None)


@dataclass
class EmbeddingStatus:
    active: dict[str, Any] | None
    configured: str
    messages: int
    models: list[dict[str, Any]]

    def line_for(self, model: str) -> dict[str, Any] | None:
        return next((m for m in self.models if m["model"] == model), None)


def embedding_status(store: Any, configured_model: str) -> EmbeddingStatus:
    messages = sum(1 for d in store.all_message_docs({"status": 1, "role": 1, "content": 1}) if is_final(d))
    vectors = store.vectors
    return EmbeddingStatus(vectors.active_model(), configured_model, messages, vectors.models())
