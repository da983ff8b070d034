"""An in-process BM25 keyword index (SecantusDB has no text indexes).

Documents are added incrementally (append-only; a changed document is
re-added and its old postings are masked out). Postings are kept per term as
``array('i')`` pairs so a query turns them into numpy views without copying;
scoring 100k documents is a few vectorised operations per query term.

Tokens are lower-cased word characters with a light suffix stemmer, so
"indexes", "indexing" and "index" meet; the same ``terms()`` is used to find
the spans to highlight in a snippet.
"""

from __future__ import annotations

import re
import threading
from array import array
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?", re.UNICODE)
STOPWORDS = frozenset(
    """a an and are as at be been but by can could did do does for from had has have how i if in into is it
    its me my no not of on or our so that the their them then there these they this to was we were what
    when where which who why will with would you your""".split()
)
#: A pasted page as a query: its first terms are plenty, and the cost stays bounded.
MAX_QUERY_TERMS = 64
#: How many times a document's own words count, against once for its context's.
OWN_WEIGHT = 2
_SUFFIXES = ("ingly", "edly", "ings", "ing", "ies", "ied", "ed", "es", "ly", "s")


@lru_cache(maxsize=1 << 15)
def stem(word: str) -> str:
    """A deliberately small stemmer: strip one common English suffix from longer words.

    Cached: words repeat (Zipf), and the context boost tokenises 50 candidates per search; the cache
    halves the time of ``terms`` on LoCoMo's turns (31 -> 16 ms for 1,451 turns).
    """
    for suffix in _SUFFIXES:
        if len(word) - len(suffix) >= 3 and word.endswith(suffix):
            base = word[: -len(suffix)]
            if suffix in ("ies", "ied"):
                return base + "y"
            if suffix == "es" and not base.endswith(("s", "x", "z", "ch", "sh")):
                return base + "e"
            return base
    return word


def terms(text: str) -> list[str]:
    """Index terms of ``text`` in order (stopwords dropped)."""
    out = []
    for match in _WORD.finditer(text.lower()):
        word = match.group(0).replace("’", "'")
        if word in STOPWORDS or len(word) < 2 and not word.isdigit():
            continue
        out.append(stem(word))
    return out


def term_spans(text: str, wanted: set[str]) -> list[tuple[int, int]]:
    """Character spans of the words in ``text`` whose stem is in ``wanted``."""
    spans = []
    for match in _WORD.finditer(text):
        word = match.group(0).lower().replace("’", "'")
        if word not in STOPWORDS and stem(word) in wanted:
            spans.append((match.start(), match.end()))
    return spans


@dataclass(frozen=True)
class KeywordHit:
    doc_id: str
    score: float


class KeywordIndex:
    """BM25 (k1=1.2, b=0.75) over added documents, filterable by project."""

    def __init__(self, k1: float = 1.2, b: float = 0.75):
        self.k1, self.b = k1, b
        self._ids: list[str] = []
        self._row: dict[str, int] = {}
        self._lengths = array("i")
        self._projects = array("i")
        self._alive = bytearray()
        self._project_codes: dict[str, int] = {}
        self._postings: dict[str, tuple[array, array]] = {}
        self._total_length = 0
        self._live = 0
        self._lock = threading.RLock()

    def __len__(self) -> int:
        return self._live

    def __contains__(self, doc_id: str) -> bool:
        return doc_id in self._row

    def add(self, doc_id: str, text: str, project: str = "default", context: str = "") -> None:
        """Index a document; adding an id again replaces the earlier version.

        ``context`` (e.g. the turn before) is searchable too, but each of its words
        counts half as much as one of ``text``'s.
        """
        tokens = terms(text) * OWN_WEIGHT + terms(context)
        with self._lock:
            old = self._row.get(doc_id)
            if old is not None and self._alive[old]:
                self._alive[old] = 0
                self._total_length -= self._lengths[old]
                self._live -= 1
            row = len(self._ids)
            self._ids.append(doc_id)
            self._row[doc_id] = row
            self._lengths.append(len(tokens))
            self._projects.append(self._project_code(project))
            self._alive.append(1)
            self._total_length += len(tokens)
            self._live += 1
            counts: dict[str, int] = {}
            for tok in tokens:
                counts[tok] = counts.get(tok, 0) + 1
            for tok, tf in counts.items():
                posting = self._postings.get(tok)
                if posting is None:
                    posting = self._postings[tok] = (array("i"), array("i"))
                posting[0].append(row)
                posting[1].append(tf)

    def _project_code(self, project: str) -> int:
        code = self._project_codes.get(project)
        if code is None:
            code = self._project_codes[project] = len(self._project_codes)
        return code

    def scores(self, query: str, project: str | None = None) -> "ScoredRows | None":
        """BM25 score of every row for ``query`` (0 where no term matches), with the rows in scope.

        Within a project, document frequencies, the document count and the average
        length are the project's own: a name that is rare across all projects but
        said in every turn of one project is no evidence inside it.
        None when nothing can match (no index terms, empty scope).
        """
        qterms = list(dict.fromkeys(terms(query)))[:MAX_QUERY_TERMS]
        with self._lock:
            n_rows = len(self._ids)
            if not qterms or not n_rows or not self._live:
                return None
            if project is not None and project not in self._project_codes:
                return None
            lengths = np.frombuffer(self._lengths, dtype=np.int32, count=n_rows).astype(np.float32)
            scope = np.frombuffer(bytes(self._alive), dtype=np.uint8).astype(bool)
            in_project = None
            if project is not None:
                codes = np.frombuffer(self._projects, dtype=np.int32, count=n_rows)
                in_project = codes == self._project_codes[project]
                scope = scope & in_project
            n_docs = int(scope.sum())
            if n_docs == 0:
                return None
            avgdl = max(float(lengths[scope].sum()) / n_docs, 1.0)
            scores = np.zeros(n_rows, dtype=np.float32)
            idfs: dict[str, float] = {}
            norm = self.k1 * (1 - self.b + self.b * lengths / avgdl)
            for tok in qterms:
                posting = self._postings.get(tok)
                if posting is None:
                    continue
                rows = np.frombuffer(posting[0], dtype=np.int32, count=len(posting[0]))
                tfs = np.frombuffer(posting[1], dtype=np.int32, count=len(posting[1])).astype(np.float32)
                df = int(scope[rows].sum())
                if df == 0:
                    continue
                idf = np.log(1 + (n_docs - df + 0.5) / (df + 0.5))
                idfs[tok] = float(idf)
                scores[rows] += idf * tfs * (self.k1 + 1) / (tfs + norm[rows])
            scores[~scope] = 0.0
            # ids: append-only, rows past n_rows unused
            return ScoredRows(self._ids, scores, scope, idfs)

    def row_of(self, doc_id: str) -> int | None:
        return self._row.get(doc_id)

    def has_project(self, project: str) -> bool:
        return project in self._project_codes

    def search(self, query: str, limit: int = 50, project: str | None = None) -> list[KeywordHit]:
        """Best ``limit`` documents for ``query`` (only documents matching a query term)."""
        scored = self.scores(query, project)
        if scored is None:
            return []
        return [KeywordHit(doc_id, score) for doc_id, score in scored.top(limit) if score > 0]


@dataclass
class ScoredRows:
    """One score per index row, and which rows were in the searched scope."""

    ids: list[str]
    scores: np.ndarray
    scope: np.ndarray  # bool per row
    idf: dict[str, float] = field(default_factory=dict)  # keyword scores: each matched query term's IDF in scope

    def top(self, limit: int) -> list[tuple[str, float]]:
        """The ``limit`` best rows in scope, best first (ties: earlier rows first)."""
        candidates = np.flatnonzero(self.scope)
        if candidates.size == 0 or limit <= 0:
            return []
        if candidates.size > limit:
            part = np.argpartition(-self.scores[candidates], limit - 1)[:limit]
            candidates = candidates[part]
        order = candidates[np.argsort(-self.scores[candidates], kind="stable")]
        return [(self.ids[i], float(self.scores[i])) for i in order]

    def standardised(self) -> tuple[float, float]:
        """Mean and standard deviation of the scores in scope (for fusing with another ranking)."""
        values = self.scores[self.scope]
        if values.size == 0:
            return 0.0, 1.0
        std = float(values.std())
        return float(values.mean()), std if std > 1e-9 else 1.0
