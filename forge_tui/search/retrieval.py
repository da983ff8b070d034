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
import re
import threading
from dataclasses import dataclass
from typing import Any, Callable, Iterable

import numpy as np
from pymongo.errors import PyMongoError

from forge_tui.protocol.safe_yaml import YamlRefused, load_plain_yaml
from forge_tui.search.embedder import Embedder, EmbedderError
from forge_tui.search.keyword_index import KeywordIndex, stem, terms
from forge_tui.store.vectors import content_hash

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
    why: str = ""  # why it was offered: project, date, how it matched and its score


#: Offered in this order (then by score): what was decided or required before raw turns.
KIND_ORDER = {"constraint": 0, "decision": 1, "archive_excerpt": 2, "message": 3}
#: Earlier messages taken from the search ranking (the project's own, then other projects').
MESSAGE_LIMIT = 12
#: A message must stand this far above the searched messages' average (fused standard scores).
MIN_MESSAGE_SCORE_SAME_PROJECT = 0.5
MIN_MESSAGE_SCORE_OTHER_PROJECT = 3.0
#: A message needs this many distinct words beyond greetings and filler to be worth its tokens.
MIN_INFORMATIVE_TERMS = 3
#: Word-set overlap at which an item repeats something already in the context (or already offered).
DUPLICATE_OVERLAP = 0.8
_FILLER = frozenset(stem(w) for w in """hi hello hey hiya yo thanks thank thx ok okay sure yes yeah yep no nope
    great cool nice good fine bye goodbye morning evening night again lol haha wow awesome alright right
    welcome please sorry oh ah hmm well just really too also""".split())


def informative_terms(text: str) -> set[str]:
    """The distinct index terms of ``text`` that are not greetings or filler."""
    return {t for t in terms(text) if t not in _FILLER}


def is_trivial(text: str) -> bool:
    """A greeting, a thank-you, an "ok": too little information to be worth offering."""
    return len(informative_terms(text)) < MIN_INFORMATIVE_TERMS


_REQUEST = re.compile(r"^\s*(please\b|(can|could|would|will) you\b|write\b|list\b|show\b|give me\b|tell me\b|"
                      r"explain\b|summari[sz]e\b|help me\b|make me\b)", re.IGNORECASE)


def looks_like_request(text: str) -> bool:
    """A request or a question recorded as a decision ("write me…", "can you…?"): not worth offering as one."""
    body = text.split(":", 1)[1] if re.match(r"^\s*D\d+:", text) else text
    body = body.split(" (why:", 1)[0].strip()
    return bool(_REQUEST.match(body)) or body.endswith("?")


def _repeats(words: set[str], held: list[set[str]]) -> bool:
    """Whether ``words`` are (nearly) all in one of the ``held`` texts already."""
    if not words:
        return True
    return any(len(words & h) / len(words) >= DUPLICATE_OVERLAP for h in held if h)


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
    created_at: Any = None
    search_score: float | None = None  # messages: the hybrid search's fused score
    matched_by: tuple[str, ...] = ()


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
    if registry is not None:
        try:
            records = registry.decisions(None)
        except (PyMongoError, TypeError, ValueError) as exc:
            log.warning("knowledge registry unreadable for retrieval: %s", exc)
            records = []
        docs = [r if isinstance(r, dict) else vars(r) for r in records]
    else:
        try:
            docs = store.knowledge.decision_docs(None, active_only=False, with_embedding=False)
        except PyMongoError as exc:
            log.warning("decisions collection unreadable: %s", exc)
            docs = []
    for doc in docs:
        text, project = doc.get("text"), doc.get("project")
        if not isinstance(text, str) or not text.strip() or not isinstance(project, str):
            continue
        if not _is_active(doc.get("status")) or looks_like_request(text):
            continue
        did = str(doc.get("id") or "")
        kind = "constraint" if str(doc.get("kind") or doc.get("type") or "").lower() == "constraint" else "decision"
        yield _Candidate(kind, _decision_text(did, text.strip(), str(doc.get("rationale") or "").strip()),
                         f"{project}/{did}" if did else f"{project}/decision:{doc.get('_id', doc.get('uid', ''))}",
                         project, _prior(doc.get("priority"), doc.get("tier")),
                         created_at=doc.get("last_validated") or doc.get("created_at"))


def _archive_data(doc: dict[str, Any]) -> dict[str, Any] | None:
    for key in ("data", "archive"):
        if isinstance(doc.get(key), dict):
            return doc[key]
    for key in ("yaml", "yaml_text", "archive"):
        text = doc.get(key)
        if isinstance(text, str) and text.strip():
            try:
                data = load_plain_yaml(text)
            except YamlRefused:
                return None
            return data if isinstance(data, dict) else None
    return None


def _archives(store: Any) -> Iterable[_Candidate]:
    try:
        docs = store.all_archives()
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
        when = doc.get("created_at")
        for i, c in enumerate(_list(data.get("constraints"))):
            quote = c.get("quote") or c.get("text") if isinstance(c, dict) else c
            if isinstance(quote, str) and quote.strip():
                prio = c.get("priority") if isinstance(c, dict) else None
                yield _Candidate("constraint", f"“{quote.strip()}”", f"{src}/constraints[{i}]", project, _prior(prio),
                                 created_at=when)
        for i, d in enumerate(_list(data.get("decisions"))):
            if isinstance(d, dict) and isinstance(d.get("text"), str) and _is_active(d.get("status")):
                text = _decision_text(str(d.get("id") or ""), d["text"], str(d.get("rationale") or ""))
                yield _Candidate("archive_excerpt", text, f"{src}/decisions[{i}]", project,
                                 _prior(d.get("priority"), d.get("tier")), created_at=when)
        for i, t in enumerate(_list(data.get("threads"))):
            if isinstance(t, dict) and isinstance(t.get("title"), str) and _is_active(t.get("status")):
                yield _Candidate("archive_excerpt", f"Open thread: {t['title']}", f"{src}/threads[{i}]", project,
                                 _prior(t.get("priority")), created_at=when)
        prompt = data.get("continuation_prompt") or data.get("summary")
        if isinstance(prompt, str) and prompt.strip():
            yield _Candidate("archive_excerpt", prompt.strip()[:MAX_ITEM_CHARS], f"{src}/continuation_prompt",
                             project, 0.02, created_at=when)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _messages(search: Any, opening_text: str, project: str, sandboxed: set[str],
              exclude_conversation: str | None = None, limit: int = MESSAGE_LIMIT) -> Iterable[_Candidate]:
    """Earlier turns in the search's own ranking: the project's first, then other projects' that stand out."""
    scopes = [(project, MIN_MESSAGE_SCORE_SAME_PROJECT), (None, MIN_MESSAGE_SCORE_OTHER_PROJECT)]
    for scope, bar in scopes:
        try:
            # a few more: the conversation being opened matches its own opening best
            hits = search.search(opening_text, project=scope, limit=limit + 5)
        except PyMongoError as exc:
            log.warning("message search failed during retrieval: %s", exc)
            return
        taken = 0
        for h in hits:  # in the search's order; the bar is on the fused score, which need not fall
            if taken >= limit:
                break
            if h.score < bar:
                continue
            if h.conversation_id == exclude_conversation or (scope is None and h.project == project):
                continue
            if h.project != project and h.project in sandboxed:
                continue
            if is_trivial(h.snippet):
                continue
            taken += 1
            yield _Candidate("message", h.snippet, f"message:{h.message_id}", h.project, 0.0,
                             created_at=h.created_at, search_score=float(h.score), matched_by=tuple(h.matched_by))


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


def _why(cand: _Candidate, score: float) -> str:
    """One line saying why an item is offered: its project, its date, how it matched, its score."""
    when = cand.created_at.strftime("%Y-%m-%d") if hasattr(cand.created_at, "strftime") else "undated"
    if cand.search_score is not None:
        how = f"search match ({'+'.join(cand.matched_by) or 'ranked'}), score {score:.2f}"
    else:
        how = f"similar to the opening, score {score:.2f}"
    return f"{cand.project} · {when} · {how}"


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
    in_context: Iterable[str] = (),
) -> list[ContextItem]:
    """The most relevant constraints, decisions, archive excerpts and earlier turns for ``opening_text``.

    Constraints and decisions come first, then archive excerpts, then raw turns;
    within a kind, the best first. Decisions and excerpts are scored by
    similarity to the opening (items from ``project`` get a bonus and a lower
    bar); earlier turns come from ``search`` (a ``SearchService``) in its own
    hybrid ranking, the project's own first, other projects' only when they
    stand out, never greetings or other turns with too little information, and
    never ``exclude_conversation``'s (the conversation being opened). Nothing
    that repeats a text of ``in_context`` (what the model sees already) or an
    item offered before it is offered. Items from a project in
    ``sandboxed_projects`` are only offered inside that project. Each item says
    why it was offered (``why``); ``tokens`` sum to at most ``budget_tokens``.
    """
    opening_text = (opening_text or "").strip()
    if not opening_text or budget_tokens <= 0:
        return []
    sandboxed = set(sandboxed_projects or ())
    count = count_tokens or approx_tokens
    candidates: list[_Candidate] = []
    seen: set[tuple[str, str]] = set()
    for source in (_decisions(store, registry), _archives(store)):
        for cand in source:
            if cand.project != project and cand.project in sandboxed:
                continue
            key = (cand.project, " ".join(cand.text.lower().split()))
            if key not in seen:
                seen.add(key)
                candidates.append(cand)
    scored: list[tuple[float, _Candidate]] = []
    if candidates:
        sims = _similarities(embedder, opening_text, [c.text for c in candidates])
        for cand, sim in zip(candidates, sims):
            same = cand.project == project
            if sim < (MIN_SIMILARITY_SAME_PROJECT if same else MIN_SIMILARITY_OTHER_PROJECT):
                continue
            scored.append((float(sim) + cand.weight + (SAME_PROJECT_BONUS if same else 0.0), cand))
    if search is not None:
        # already in the search's order, which is kept (the sort below is stable within a kind)
        scored.extend((c.search_score or 0.0, c) for c in _messages(search, opening_text, project, sandboxed,
                                                                    exclude_conversation))
    scored.sort(key=lambda pair: (KIND_ORDER.get(pair[1].kind, 9), -pair[0] if pair[1].kind != "message" else 0))
    held = [informative_terms(t) for t in in_context]
    items: list[ContextItem] = []
    used = 0
    for score, cand in scored:
        text = cand.text[:MAX_ITEM_CHARS]
        words = informative_terms(text)
        if _repeats(words, held):
            continue
        tokens = count(text)
        if used + tokens > budget_tokens:
            continue
        used += tokens
        held.append(words)
        items.append(ContextItem(cand.kind, text, cand.source, cand.project, round(score, 4), tokens,
                                 _why(cand, score)))
    return items
