"""Which earlier question a closing sentence answers: a small learned pair scorer.

A resolution ("that settles the versioning question", "so that one's resolved") or a
decision ("test strip approach it is") may close a question. Its candidates are the
open questions, and the earlier question-like sentences the classifier did not keep
as questions: a question is labelled one only when it stays open past its own turn,
which nobody can know while reading it, and the later sentence that settles it is
what says so. Each (closing sentence, candidate) pair gets features (words shared,
turn distance, how question-like the candidate is, whether the closing sentence names
anything beyond "settled"); a logistic model trained on the corpus's train+dev split
(``python -m forge_tui.knowledge.pipeline.train_resolve``; settings chosen held out)
scores the pairs, and the best candidate above the threshold is closed. A sentence
candidate is opened as a question first (from its own turn), then closed.

The archive (``state.Tracker``) and the registry (``knowledge.fold``) build the same
candidates and ask the same ``Linker``, so they close the same questions.
"""

from __future__ import annotations

import math
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from forge_tui.knowledge.pipeline import cues, link
from forge_tui.knowledge.pipeline.model import LABELS
from forge_tui.knowledge.pipeline.pairs import PairModel
from forge_tui.knowledge.pipeline.text import content_words

WEIGHTS_FILE = "resolution_model.json"
TRAINER = "forge_tui.knowledge.pipeline.train_resolve"
LOOK_BACK = 10  # turns searched for a question nobody recorded
MAX_SENTENCES = 12  # sentence candidates considered, latest first
MIN_QUESTION = 0.05  # classifier probability of "question" for a sentence without "?" or an open cue
FAR = 12  # the turn distance given to a question of another conversation (the registry's project)

Span = tuple[int, int, int]  # (turn, start, end)


@dataclass(frozen=True)
class Asked:
    """A candidate: an open question (``key`` its id) or an earlier sentence never recorded as one (``key`` "")."""

    key: str
    text: str
    turn: int | None  # the turn it was (last) asked in; None: another conversation
    role: str = "user"
    p_question: float = 1.0
    title: str = ""
    spans: tuple[Span, ...] = ()
    source: str = ""  # the asking turn's message id (sentence candidates)


@dataclass(frozen=True)
class Closing:
    """A sentence that may settle a question: a resolution, or a decision."""

    text: str
    turn: int
    role: str
    label: str  # "resolution" | "decision"
    p_resolution: float = 0.0
    span: Span | None = None


FEATURE_NAMES = (
    "bias", "is_item", "p_question", "asks", "ends_asks", "open_cue", "whether_or", "cand_user", "same_role",
    "cover", "share", "stem_cover", "any_shared", "names_nothing", "explicit", "names_question", "is_decision",
    "p_resolution", "closing_asks", "distance", "next_turn", "latest", "latest_item", "rank", "far",
    "cover_x_item", "nothing_x_latest", "decision_x_cover", "user_turn_after", "names_subject", "subject_cover",
    "subject_x_distance", "nothing_x_distance", "subject_best", "subject_elsewhere",
)  # fmt: skip

_META = frozenset(
    "question questions matter issue point thing one settled settles settle answered answers answer resolved "
    "resolves resolve closed closes close decided decide done that this also too then therefore now yes yep "
    "yeah okay good great fine perfect clear finally".split()
)
_NAMES_QUESTION = re.compile(r"\b(question|matter|issue|point|that one|this one|open item)\b", re.I)
_UNDECIDED = re.compile(r"\b(whether|uncertain|undecided|not (yet )?(sure|certain|decided|clear))\b", re.I)
_WHETHER_OR = re.compile(r"\b(whether|if)\b.*\bor\b|\bor\b.*\?", re.I)


def _stems(words: Iterable[str]) -> set[str]:
    return {w[:5] for w in words if len(w) >= 4}


def _own_words(closing: Closing) -> set[str]:
    """What the closing sentence names beyond "settled", "that one", "ok"."""
    return {w for w in content_words(closing.text) if w not in _META and w not in link.AGREEMENT_WORDS}


def _subject(closing: Closing, cand: Asked) -> set[str]:
    """The stems the closing sentence names of the candidate ("that answers the *strandedness* question")."""
    return _stems(_own_words(closing)) & _stems(content_words(cand.text) | content_words(cand.title))


def features(closing: Closing, cand: Asked, rank: int, latest_item: bool,
             subject_rank: tuple[bool, bool] = (False, False)) -> np.ndarray:
    """The pair's feature vector (``len(FEATURE_NAMES)`` floats); ``rank``: 0 for the latest candidate;
    ``subject_rank``: (no other candidate shares more of what the closing sentence names, some other
    candidate shares it and this one does not)."""
    mine = content_words(closing.text)
    theirs = content_words(cand.text) | content_words(cand.title)
    shared = mine & theirs
    cover = len(shared) / len(theirs) if theirs else 0.0
    share = len(shared) / min(len(mine), len(theirs)) if mine and theirs else 0.0
    st_mine, st_theirs = _stems(mine), _stems(theirs)
    stem_cover = len(st_mine & st_theirs) / len(st_theirs) if st_theirs else 0.0
    own = _own_words(closing)
    subject = _stems(own) & st_theirs  # what the closing sentence names of the question, beyond "settled"
    distance = (closing.turn - cand.turn) if cand.turn is not None else FAR
    text = cand.text.strip()
    is_item = float(bool(cand.key))
    nothing = float(len(own) <= 1)
    is_decision = float(closing.label == "decision")
    values = [
        1.0, is_item, cand.p_question, float("?" in text), float(text.endswith("?")),
        float(bool(cues.CUES["open"].search(text[:cues.CUE_CHARS]))), float(bool(_WHETHER_OR.search(text[:300]))),
        float(cand.role == "user"), float(cand.role == closing.role),
        cover, share, stem_cover, float(bool(shared)), nothing, float(link.closes_question(closing.text)),
        float(bool(_NAMES_QUESTION.search(closing.text))), is_decision, closing.p_resolution,
        float("?" in closing.text), math.log1p(max(0, distance)) / 2.0, float(distance <= 1),
        float(rank == 0), float(latest_item), math.log1p(rank) / 2.0, float(cand.turn is None),
        cover * is_item, nothing * float(rank == 0), is_decision * cover,
        float(distance == 2 and cand.role == closing.role),
        float(bool(subject)), len(subject) / len(st_theirs) if st_theirs else 0.0,
        float(bool(subject)) * math.log1p(max(0, distance)) / 2.0, nothing * math.log1p(max(0, distance)) / 2.0,
        float(subject_rank[0]), float(subject_rank[1]),
    ]  # fmt: skip
    return np.asarray(values, dtype=np.float32)


RECENT_TURNS = 2


def eligible(closing: Closing, cand: Asked) -> bool:
    """The rule around the model: a closing sentence that names nothing of a question ("done.", "settled.")
    settles it only when it was asked in the last ``RECENT_TURNS`` turns, or when it says outright that a
    question is closed ("question answered"); otherwise it is about something that was never a question."""
    if cand.turn is not None and closing.turn - cand.turn <= RECENT_TURNS or link.closes_question(closing.text):
        return True
    return bool(_subject(closing, cand))


def pair_rows(closing: Closing, candidates: Sequence[Asked]) -> np.ndarray:
    """Feature rows for every candidate (candidates in conversation order; the last is the latest)."""
    order = sorted(range(len(candidates)), key=lambda i: -(candidates[i].turn if candidates[i].turn is not None
                                                           else -FAR))
    rank = {i: r for r, i in enumerate(order)}
    items = [i for i in order if candidates[i].key]
    latest_item = items[0] if items else -1
    named = [len(_subject(closing, c)) for c in candidates]
    top = max(named, default=0)
    return np.vstack([features(closing, c, rank[i], i == latest_item,
                               (top > 0 and named[i] == top, top > 0 and not named[i]))
                      for i, c in enumerate(candidates)])


class Linker(PairModel):
    """The best (closing, candidate) pair above the closing label's threshold wins."""

    def scores(self, closing: Closing, candidates: Sequence[Asked]) -> np.ndarray:
        return self.proba(pair_rows(closing, candidates)) if candidates else np.zeros(0, dtype=np.float32)

    def choose(self, closing: Closing, candidates: Sequence[Asked]) -> Asked | None:
        """The candidate ``closing`` settles, or None (only ``eligible`` candidates are considered)."""
        p = self.scores(closing, candidates) * np.asarray([eligible(closing, c) for c in candidates], dtype=np.float32)
        if not len(p):
            return None
        best = int(np.argmax(p))
        return candidates[best] if p[best] >= self.thresholds.get(closing.label, 1.0) else None

    @classmethod
    def load(cls, path: Path | None = None) -> "Linker":
        return cls(**PairModel.read(WEIGHTS_FILE, FEATURE_NAMES, TRAINER, path))


_lock = threading.Lock()
_shipped: Linker | None = None


def shipped_linker() -> Linker:
    """The packaged linker, read once per process (on first use)."""
    global _shipped
    with _lock:
        if _shipped is None:
            _shipped = Linker.load()
        return _shipped


def raw_probability(item, label: str) -> float:
    """The classifier's probability of ``label`` for a labelled sentence, before thresholds."""
    proba = getattr(item, "raw", ()) or item.proba
    return float(proba[LABELS.index(label)]) if len(proba) == len(LABELS) else float(item.label == label)


def sentence_candidates(labelled: Sequence, before_turn: int, taken: Callable[[object], bool]) -> list[Asked]:
    """Earlier question-like sentences (last ``LOOK_BACK`` turns) that no item holds yet, oldest first.

    ``labelled``: ``classify.Labelled`` items in conversation order; ``taken(item)``: already recorded.
    """
    out: list[Asked] = []
    for item in reversed(labelled):
        if item.turn >= before_turn:
            continue
        if before_turn - item.turn > LOOK_BACK or len(out) >= MAX_SENTENCES:
            break
        if item.label == "question" or item.role == "system":
            continue  # a question-labelled sentence is an item already
        text = item.text.strip()
        p = raw_probability(item, "question")
        question_like = ("?" in text or p >= MIN_QUESTION or bool(cues.CUES["open"].search(text[:cues.CUE_CHARS]))
                         or bool(_UNDECIDED.search(text[:cues.CUE_CHARS])))
        if not question_like or taken(item):
            continue
        span = (item.turn, item.sentence.start, item.sentence.end)
        out.append(Asked("", text, item.turn, item.role, p, "", (span,), item.source))
    return out[::-1]


def closing_of(item, label: str, text: str = "", turn: int | None = None) -> Closing:
    """The ``Closing`` for a labelled sentence acting as ``label`` (``text``: what it states, when not itself;
    ``turn``: its position in the conversation, when ``item.turn`` counts from elsewhere)."""
    at = item.turn if turn is None else turn
    return Closing(text or item.text, at, item.role, label, raw_probability(item, "resolution"),
                   (at, item.sentence.start, item.sentence.end))
