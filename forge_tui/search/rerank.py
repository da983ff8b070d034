"""A second look at the fused ranking's best candidates: a small logistic model over cheap features.

The fused score (``fusion``) sees each message alone. The evidence for a question is told apart
better with what surrounds a candidate (features chosen on LoCoMo, bench/locomo_retrieval.py; the
shipped weights are learnt by ``bench/train_reranker.py`` from Forge's own memory corpus only, because
LoCoMo is CC BY-NC and weights derived from it must not ship): how well its neighbouring turns match
(a reply's meaning often lives in the turn before it), whether the question names the candidate's speaker or someone else,
whether it sits in the conversation the best matches come from, how much of the question's rare
vocabulary its own words carry, whether it is a question itself, its length, and for "when" questions
whether it mentions a time. The model is a logistic regression (weights, bias, feature means and
standard deviations in ``reranker.npz``, under 4 kB); scoring 50 candidates is a few microseconds of
numpy. ``features`` is the one definition used both to train it and to apply it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from forge_tui.search.keyword_index import terms
from forge_tui.search.passages import names

#: How many of the fused ranking's best candidates are looked at again.
RERANK_DEPTH = 50
MODEL_PATH = Path(__file__).with_name("reranker.npz")

FEATURES = (
    "semantic_z", "keyword_z", "fused", "log_rank",
    "previous_semantic_z", "next_semantic_z", "previous_keyword_z", "next_keyword_z",
    "conversation_share_top10", "own_rare_overlap", "speaker_named", "other_speaker_named",
    "log_length", "is_question", "time_for_when", "same_conversation_as_top",
    "speaker_named_x_semantic", "speaker_named_x_keyword", "opening_turn", "mentions_time",
)

_TIME = re.compile(
    r"\b(yesterday|today|tomorrow|tonight|last|next|ago|week|weekend|month|year|monday|tuesday|wednesday|"
    r"thursday|friday|saturday|sunday|january|february|march|april|may|june|july|august|september|"
    r"october|november|december|\d{4})\b", re.IGNORECASE)
_WHEN = re.compile(r"^\s*when\b|\bwhat (year|date|month|day|time)\b|\bhow long\b", re.IGNORECASE)


@dataclass(frozen=True)
class Candidate:
    """One message among the fused ranking's best, with what the features need to know about it."""

    doc_id: str
    semantic_z: float
    keyword_z: float
    fused: float
    conversation: str
    seq: int
    speaker: str
    content: str
    previous_semantic_z: float = 0.0  # the neighbouring turns of its conversation (0: none)
    next_semantic_z: float = 0.0
    previous_keyword_z: float = 0.0
    next_keyword_z: float = 0.0


def features(query: str, candidates: list[Candidate], idf: dict[str, float]) -> np.ndarray:
    """One row of ``FEATURES`` per candidate; ``candidates`` in the fused order, ``idf`` per query term."""
    if not candidates:
        return np.zeros((0, len(FEATURES)))
    lowered = query.lower()
    qterms = list(dict.fromkeys(terms(query)))
    weights = {t: idf.get(t, 0.0) for t in qterms}
    total = sum(weights.values()) or 1.0
    speakers = {c.speaker for c in candidates if c.speaker}
    named = {s for s in speakers if names(lowered, s)}
    when = 1.0 if _WHEN.search(query) else 0.0
    top10 = [c.conversation for c in candidates[:10]]
    top = candidates[0].conversation
    rows = []
    for rank, c in enumerate(candidates):
        own = set(terms(c.content))
        overlap = sum(w for t, w in weights.items() if t in own) / total
        spoke = 1.0 if c.speaker in named else 0.0
        other = 1.0 if named and not spoke else 0.0
        timed = 1.0 if _TIME.search(c.content) else 0.0
        rows.append((
            c.semantic_z, c.keyword_z, c.fused, math.log1p(rank),
            c.previous_semantic_z, c.next_semantic_z, c.previous_keyword_z, c.next_keyword_z,
            top10.count(c.conversation) / 10, overlap, spoke, other,
            math.log1p(len(own)), 1.0 if c.content.rstrip().endswith("?") else 0.0, timed * when,
            1.0 if c.conversation == top else 0.0, spoke * c.semantic_z, spoke * c.keyword_z,
            1.0 if c.seq < 2 else 0.0, timed,
        ))
    return np.asarray(rows, dtype=np.float64)


#: The default reordering of the fused best: five hand-set boosts in fused-score units (its spread
#: is ~0.9), chosen over grids on LoCoMo samples 0-4 only. Evidence clusters where the talk was
#: about it, so a candidate from the conversation holding most of the top 10, from the top hit's
#: conversation, or spoken by someone the query names moves up; a longer turn says more (log of its
#: word count); a "when" question prefers a turn that mentions a time. Nothing is learnt from the data.
CONTEXT_BOOST = {"conversation_share_top10": 3.0, "same_conversation_as_top": 0.5, "speaker_named": 2.0,
                 "log_length": 0.5, "time_for_when": 1.0}
_FUSED = FEATURES.index("fused")
_BOOSTED = [(FEATURES.index(name), weight) for name, weight in CONTEXT_BOOST.items()]


def context_scores(x: np.ndarray) -> np.ndarray:
    """The fused score of each row of ``features`` plus ``CONTEXT_BOOST``."""
    if x.shape[0] == 0:
        return np.zeros(0)
    return x[:, _FUSED] + sum(weight * x[:, column] for column, weight in _BOOSTED)


@dataclass(frozen=True)
class RerankModel:
    """Logistic regression over standardised ``FEATURES``."""

    weights: np.ndarray
    bias: float
    mean: np.ndarray
    std: np.ndarray

    def scores(self, x: np.ndarray) -> np.ndarray:
        """Probability that each row is evidence for the query."""
        if x.shape[0] == 0:
            return np.zeros(0)
        z = ((x - self.mean) / self.std) @ self.weights + self.bias
        return 1.0 / (1.0 + np.exp(-z))

    def save(self, path: Path) -> None:
        np.savez(path, weights=self.weights, bias=np.array([self.bias]), mean=self.mean, std=self.std,
                 features=np.array(FEATURES))

    @classmethod
    def load(cls, path: Path = MODEL_PATH) -> "RerankModel":
        """Read a saved model; a file made for other features is refused with the fix."""
        with np.load(path) as data:
            names = tuple(str(n) for n in data["features"])
            if names != FEATURES:
                raise ValueError(f"{path} was trained for other features; run `python bench/train_reranker.py`")
            return cls(data["weights"].astype(np.float64), float(data["bias"][0]),
                       data["mean"].astype(np.float64), data["std"].astype(np.float64))


def fit(groups: list[tuple[np.ndarray, np.ndarray]], l2: float = 1e-3, iterations: int = 1500,
        rate: float = 1.0) -> RerankModel:
    """Train on ``groups`` (one per query: its candidates' features and 0/1 labels); deterministic.

    The weights are learnt from pairs (a query's evidence against each of its other candidates:
    logistic regression on feature differences), which ranks better than labelling candidates one by
    one (cross-validated on LoCoMo samples 0-4: +0.006 R@5, +0.008 R@10); then one scale and a bias are
    fitted on the candidates themselves so that ``scores`` reads as a probability.
    """
    x = np.vstack([g for g, _ in groups])
    mean = x.mean(axis=0)
    std = x.std(axis=0)
    std = np.where(std > 1e-9, std, 1.0)
    diffs = []
    for g, y in groups:
        pos, neg = (g[y > 0] - mean) / std, (g[y <= 0] - mean) / std
        if len(pos) and len(neg):
            diffs.append((pos[:, None, :] - neg[None, :, :]).reshape(-1, g.shape[1]))
    d = np.vstack(diffs)
    w = _logistic(np.vstack([d, -d]), np.r_[np.ones(len(d)), np.zeros(len(d))], l2, iterations, rate, bias=False)[0]
    ranked = (((x - mean) / std) @ w)[:, None]
    scale, bias = _logistic(ranked, np.concatenate([y for _, y in groups]), 0.0, iterations, rate, bias=True)
    return RerankModel(w * float(scale[0]), bias, mean, std)


def _logistic(x: np.ndarray, y: np.ndarray, l2: float, iterations: int, rate: float,
              bias: bool) -> tuple[np.ndarray, float]:
    """Full-batch gradient descent on the logistic loss (x already standardised)."""
    w = np.zeros(x.shape[1])
    b = 0.0
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(x @ w + b)))
        g = p - y
        w -= rate * (x.T @ g / len(y) + l2 * w)
        if bias:
            b -= rate * float(g.mean())
    return w, b


@lru_cache(maxsize=1)
def packaged_model() -> RerankModel:
    """The model shipped with Forge (loaded once per process)."""
    return RerankModel.load(MODEL_PATH)
