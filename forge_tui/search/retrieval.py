"""Relevant memory for a new or continued conversation.

``retrieve_context`` gathers candidates — active decisions (``decisions``
collection or the knowledge registry), constraints and other excerpts of
archives (``archives`` collection), optionally earlier messages — scores them
by similarity to the opening text, prefers the conversation's own project, and
keeps the best that fit a token budget. The caller shows the items to the user,
who may drop any of them before they enter the prompt.

A sandboxed project contributes nothing to other projects. Everything is read
defensively: a malformed document is skipped, never fatal. Without a ready
embedder the similarity is lexical (BM25 over the candidates), so retrieval
works from the first second.
"""

from __future__ import annotations

import logging
import math
import threading
from dataclasses import dataclass
from typing import Any, Callable, Iterable

import numpy as np
import yaml
from pymongo.errors import PyMongoError

from forge_tui.search.embedder import Embedder, EmbedderError
from forge_tui.search.keyword_index import KeywordIndex
from forge_tui.search.vector_store import content_hash

log = logging.getLogger(__name__)

KINDS = ("decision", "constraint", "archive_excerpt", "message")
INACTIVE_STATUSES = {"superseded", "rejected", "retracted", "invalidated", "archived", "inactive", "deleted",
                     "dropped", "withdrawn", "decayed", "resolved", "abandoned"}
SAME_PROJECT_BONUS = 0.15
MIN_SIMILARITY_SAME_PROJECT = 0.15
MIN_SIMILARITY_OTHER_PROJECT = 0.35
MAX_ITEM_CHARS = 1200


@dataclass(frozen=True)
class ContextItem:
    kind: str  # decision | constraint | archive_excerpt | message
    text: str
    source: str  # "webshop/D003", "archive:<id>/constraints[0]", "message:<id>"
    project: str
    score: float
    tokens: int


def approx_tokens(text: str) -> int:
    return max(1, math.ceil(len(text) / 4))


# -- candidate gathering ----------------------------------------------------------


@dataclass(frozen=True)
class _Candidate:
    kind: str
    text: str
    source: str
    project: str
    weight: float  # small prior from priority/tier, 0..0.1


_PRIORITY_WEIGHT = {"critical": 0.1, "high": 0.07, "medium": 0.04, "low": 0.0}


def _prior(priority: Any, tier: Any = None) -> float:
    w = _PRIORITY_WEIGHT.get(str(priority or "").lower(), 0.03)
    try:
        w += 0.03 * max(0.0, min(1.0, float(tier)))
    except (TypeError, ValueError):
        pass
    return w


def _is_active(status: Any) -> bool:
    return str(status or "active").strip().lower() not in INACTIVE_STATUSES


def _decision_text(did: str, text: str, rationale: str) -> str:
    body = f"{did}: {text}" if did else text
    return f"{body} (why: {rationale})" if rationale else body


def _decisions(store: Any, registry: Any) -> Iterable[_Candidate]:
    if registry is not None and hasattr(registry, "decisions"):
        try:
            records = registry.decisions(None)
        except (PyMongoError, TypeError, ValueError) as exc:
            log.warning("knowledge registry unreadable for retrieval: %s", exc)
            records = []
        docs = [r if isinstance(r, dict) else vars(r) for r in records]
    else:
        try:
            docs = list(store.db["decisions"].find({}, {"embedding": 0}))
        except PyMongoError as exc:
            log.warning("decisions collection unreadable: %s", exc)
            docs = []
    for doc in docs:
        text, project = doc.get("text"), doc.get("project")
        if not isinstance(text, str) or not text.strip() or not isinstance(project, str):
            continue
        if not _is_active(doc.get("status")):
            continue
        did = str(doc.get("id") or "")
        kind = "constraint" if str(doc.get("kind") or doc.get("type") or "").lower() == "constraint" else "decision"
        yield _Candidate(kind, _decision_text(did, text.strip(), str(doc.get("rationale") or "").strip()),
                         f"{project}/{did}" if did else f"{project}/decision:{doc.get('_id', doc.get('uid', ''))}",
                         project, _prior(doc.get("priority"), doc.get("tier")))


def _archive_data(doc: dict[str, Any]) -> dict[str, Any] | None:
    for key in ("data", "archive"):
        if isinstance(doc.get(key), dict):
            return doc[key]
    for key in ("yaml", "yaml_text", "archive"):
        text = doc.get(key)
        if isinstance(text, str) and text.strip():
            try:
                data = yaml.safe_load(text)
            except yaml.YAMLError:
                return None
            return data if isinstance(data, dict) else None
    return None


def _archives(store: Any) -> Iterable[_Candidate]:
    try:
        docs = list(store.db["archives"].find({}))
    except PyMongoError as exc:
        log.warning("archives collection unreadable: %s", exc)
        return
    for doc in docs:
        data = _archive_data(doc)
        if data is None:
            continue
        header = data.get("header") if isinstance(data.get("header"), dict) else {}
        project = doc.get("project") or header.get("project")
        if not isinstance(project, str):
            continue
        src = f"archive:{doc.get('_id')}"
        for i, c in enumerate(_list(data.get("constraints"))):
            quote = c.get("quote") or c.get("text") if isinstance(c, dict) else c
            if isinstance(quote, str) and quote.strip():
                prio = c.get("priority") if isinstance(c, dict) else None
                yield _Candidate("constraint", f"“{quote.strip()}”", f"{src}/constraints[{i}]", project, _prior(prio))
        for i, d in enumerate(_list(data.get("decisions"))):
            if isinstance(d, dict) and isinstance(d.get("text"), str) and _is_active(d.get("status")):
                text = _decision_text(str(d.get("id") or ""), d["text"], str(d.get("rationale") or ""))
                yield _Candidate("archive_excerpt", text, f"{src}/decisions[{i}]", project,
                                 _prior(d.get("priority"), d.get("tier")))
        for i, t in enumerate(_list(data.get("threads"))):
            if isinstance(t, dict) and isinstance(t.get("title"), str) and _is_active(t.get("status")):
                yield _Candidate("archive_excerpt", f"Open thread: {t['title']}", f"{src}/threads[{i}]", project,
                                 _prior(t.get("priority")))
        prompt = data.get("continuation_prompt") or data.get("summary")
        if isinstance(prompt, str) and prompt.strip():
            yield _Candidate("archive_excerpt", prompt.strip()[:MAX_ITEM_CHARS], f"{src}/continuation_prompt",
                             project, 0.02)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _messages(search: Any, opening_text: str, project: str, limit: int = 5,
              exclude_conversation: str | None = None) -> Iterable[_Candidate]:
    try:
        # ask for a few more: the conversation being opened matches its own opening best
        hits = search.search(opening_text, project=None, limit=limit + 5)
    except PyMongoError as exc:
        log.warning("message search failed during retrieval: %s", exc)
        return
    hits = [h for h in hits if h.conversation_id != exclude_conversation][:limit]
    for h in hits:
        yield _Candidate("message", h.snippet, f"message:{h.message_id}", h.project, 0.0)


# -- scoring --------------------------------------------------------------------

_VECTOR_CACHE: dict[tuple[str, str], np.ndarray] = {}
_VECTOR_CACHE_LOCK = threading.Lock()
_VECTOR_CACHE_MAX = 20_000


def _similarities(embedder: Embedder | None, opening: str, texts: list[str]) -> np.ndarray:
    """Cosine similarity of each text to the opening; lexical BM25 (scaled to 0..1) without a model."""
    if embedder is not None and embedder.is_ready:
        try:
            return _cosine(embedder, opening, texts)
        except EmbedderError as exc:
            log.warning("embedding failed during retrieval, using keywords: %s", exc)
    index = KeywordIndex()
    for i, t in enumerate(texts):
        index.add(str(i), t)
    hits = index.search(opening, limit=len(texts))
    sims = np.zeros(len(texts), dtype=np.float32)
    if hits:
        top = hits[0].score
        for h in hits:
            sims[int(h.doc_id)] = 0.6 * h.score / top
    return sims


def _cosine(embedder: Embedder, opening: str, texts: list[str]) -> np.ndarray:
    keys = [(embedder.name, content_hash(t)) for t in texts]
    with _VECTOR_CACHE_LOCK:
        missing = [i for i, k in enumerate(keys) if k not in _VECTOR_CACHE]
    if missing:
        fresh = embedder.embed([texts[i] for i in missing])
        with _VECTOR_CACHE_LOCK:
            if len(_VECTOR_CACHE) + len(missing) > _VECTOR_CACHE_MAX:
                _VECTOR_CACHE.clear()
            for i, vec in zip(missing, fresh):
                _VECTOR_CACHE[keys[i]] = vec
    with _VECTOR_CACHE_LOCK:
        matrix = np.vstack([_VECTOR_CACHE[k] for k in keys])
    query = embedder.embed([opening])[0]
    return matrix @ query


# -- the entry point -------------------------------------------------------------


def retrieve_context(
    store: Any,
    embedder: Embedder | None,
    project: str,
    opening_text: str,
    budget_tokens: int,
    sandboxed_projects: Iterable[str] = (),
    registry: Any = None,
    count_tokens: Callable[[str], int] | None = None,
    search: Any = None,
    exclude_conversation: str | None = None,
) -> list[ContextItem]:
    """The most relevant decisions, constraints and archive excerpts for ``opening_text``.

    Items from ``project`` get a bonus and a lower relevance bar; items from a
    project in ``sandboxed_projects`` are only offered inside that project.
    ``search`` (a ``SearchService``) adds earlier messages as candidates, except those of
    ``exclude_conversation`` (the conversation being opened: the model sees them anyway).
    Returns items best first, their ``tokens`` summing to at most ``budget_tokens``.
    """
    opening_text = (opening_text or "").strip()
    if not opening_text or budget_tokens <= 0:
        return []
    sandboxed = set(sandboxed_projects or ())
    count = count_tokens or approx_tokens
    candidates: list[_Candidate] = []
    seen: set[tuple[str, str]] = set()
    sources = [_decisions(store, registry), _archives(store)]
    if search is not None:
        sources.append(_messages(search, opening_text, project, exclude_conversation=exclude_conversation))
    for source in sources:
        for cand in source:
            if cand.project != project and cand.project in sandboxed:
                continue
            key = (cand.project, " ".join(cand.text.lower().split()))
            if key in seen:
                continue
            seen.add(key)
            candidates.append(cand)
    if not candidates:
        return []
    sims = _similarities(embedder, opening_text, [c.text for c in candidates])
    scored = []
    for cand, sim in zip(candidates, sims):
        same = cand.project == project
        if sim < (MIN_SIMILARITY_SAME_PROJECT if same else MIN_SIMILARITY_OTHER_PROJECT):
            continue
        scored.append((float(sim) + cand.weight + (SAME_PROJECT_BONUS if same else 0.0), cand))
    scored.sort(key=lambda pair: (-pair[0], pair[1].source))
    items: list[ContextItem] = []
    used = 0
    for score, cand in scored:
        text = cand.text[:MAX_ITEM_CHARS]
        tokens = count(text)
        if used + tokens > budget_tokens:
            continue
        used += tokens
        items.append(ContextItem(cand.kind, text, cand.source, cand.project, round(score, 4), tokens))
    return items
