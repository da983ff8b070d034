"""Label every sentence of a conversation: decision, question, resolution, constraint, request, other.

The learned model decides; rules only fence it: code blocks and empty units are
``other``, an assistant never makes a ``request``, a user sentence that opens by
asking for content ("List 50 languages…") is never a ``decision``. With an embedder that is
ready the ``full`` weights run (embedding + cues); otherwise the ``cues``
weights (same features minus the embedding), so the result is always defined.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import numpy as np

from forge_tui.knowledge.pipeline import cues
from forge_tui.knowledge.pipeline.model import LABELS, SentenceModel, design
from forge_tui.knowledge.pipeline.text import Sentence, content_words, split_sentences

log = logging.getLogger(__name__)

MAX_UNITS_PER_TURN = 400  # a 1 MB paste: the rest of it is kept as text, never classified
MAX_EMBED_CHARS = 512
#: lines that are logs, tracebacks, tables or shell, not something a person decided or asked
NOT_PROSE_RE = re.compile(
    r"^(Traceback \(most recent call last\)|File \"[^\"]+\", line \d+|\w+(Error|Exception|Warning):\s|\$ |>>> |"
    r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d|\[\d|\|.*\|$|at [\w.$]+\(|#include|import |from \S+ import|def |class )"
)
SECOND_LABEL = 0.25  # probability at which a sentence's runner-up label is acted on too


@dataclass(frozen=True)
class TurnText:
    """What the pipeline needs from a turn, whatever the caller's type."""

    role: str
    content: str
    source: str = ""


@dataclass(frozen=True)
class Labelled:
    sentence: Sentence
    turn: int  # index of the turn in the conversation
    source: str  # the turn's message id
    role: str
    label: str
    confidence: float
    proba: tuple[float, ...] = ()
    raw: tuple[float, ...] = ()  # the probabilities before the speaker's thresholds (what linking reads)

    @property
    def text(self) -> str:
        return self.sentence.text

    @property
    def second(self) -> str:
        """The runner-up label when it is nearly as likely (a clause carrying a second role), else ""."""
        if len(self.proba) != len(LABELS):
            return ""
        order = sorted(range(len(LABELS)), key=lambda k: -self.proba[k])
        return LABELS[order[1]] if self.proba[order[1]] >= SECOND_LABEL else ""


def as_turn(turn: Any) -> TurnText:
    """A ``TurnText`` from a dict, a ``domain.Turn`` or anything with role/content/id."""
    if isinstance(turn, TurnText):
        return turn
    get = turn.get if isinstance(turn, dict) else (lambda k: getattr(turn, k, None))
    role = get("role")
    role = str(getattr(role, "value", role) or "user")
    return TurnText(role, str(get("content") or ""), str(get("id") or get("source") or ""))


def as_turns(turns: Iterable[Any]) -> list[TurnText]:
    return [as_turn(t) for t in turns]


def turn_units(
    turns: Sequence[TurnText], index: int, offset: int = 0, with_next: bool = True
) -> list[tuple[Sentence, cues.Context]]:
    """The prose units of turn ``index`` with their contexts (what the classifier reads).

    ``offset`` is the position of ``turns[0]`` in the whole conversation (live
    extraction passes just the previous turn and the new one). The reply
    (``turns[index + 1]``) is read when present and ``with_next``.
    """
    turn = turns[index]
    prev = turns[index - 1] if index > 0 else None
    nxt = turns[index + 1] if with_next and index + 1 < len(turns) else None
    units = [s for s in split_sentences(turn.content) if s.kind != "code"][:MAX_UNITS_PER_TURN]
    prev_proposes = bool(prev and prev.role == "assistant" and cues.proposes(prev.content[:4000]))
    prev_asks = bool(prev and cues.asks(prev.content[:4000]))
    wants_report = bool(prev and prev.role == "assistant" and cues.WANTS_REPORT.search(prev.content[-1500:]))
    reply = _Reply.of(nxt)
    before = _Reply.of(prev) if prev is not None and prev.role != turn.role else _Reply()
    out = []
    for i, s in enumerate(units):
        overlap = reply.overlap(s.text)
        out.append((s, cues.Context(
            role=turn.role, turn_index=index + offset, sentence_index=i, n_sentences=len(units), kind=s.kind,
            prev_role=prev.role if prev else "", prev_proposes=prev_proposes, prev_asks=prev_asks,
            has_next=nxt is not None, next_confirms=reply.head and overlap >= 0.3, next_overlap=overlap,
            next_head=reply.head, next_asks_back=reply.asks, prev_overlap=before.overlap(s.text),
            next_first_overlap=reply.opening_overlap(s.text), prev_wants_report=wants_report,
        )))  # fmt: skip
    return out


@dataclass(frozen=True)
class _Reply:
    words: frozenset[str] = frozenset()
    opening: frozenset[str] = frozenset()  # the words of its first two prose units
    head: bool = False
    asks: bool = False

    @classmethod
    def of(cls, turn: TurnText | None) -> "_Reply":
        if turn is None:
            return cls()
        units = [s.text for s in split_sentences(turn.content[:4000]) if s.kind != "code"]
        first = units[0] if units else ""
        return cls(frozenset(content_words(turn.content[:4000])), frozenset(content_words(" ".join(units[:2]))),
                   bool(cues.CUES["restate"].search(first)), first.rstrip().endswith("?"))

    def overlap(self, text: str) -> float:
        mine = content_words(text)
        return len(mine & self.words) / len(mine) if mine and self.words else 0.0

    def opening_overlap(self, text: str) -> float:
        mine = content_words(text)
        return len(mine & self.opening) / len(mine) if mine and self.opening else 0.0


class SentenceClassifier:
    """Labels sentences; thread-safe once built (the model is read-only)."""

    def __init__(self, model: SentenceModel | None = None, embedder: Any = None):
        self.model = model if model is not None else SentenceModel.load()
        self.embedder = embedder

    @property
    def path(self) -> str:
        """``full`` (embedding + cues) when the embedder is ready, else ``cues``."""
        ready = self.embedder is not None and getattr(self.embedder, "is_ready", False)
        return "full" if ready and self.model.full is not None else "cues"

    def label(self, turns: Sequence[Any], only: Iterable[int] | None = None, offset: int = 0) -> list[Labelled]:
        """Label the turns' sentences (all turns, or just the indexes in ``only``), in order.

        ``offset``: where ``turns[0]`` sits in the conversation (``Labelled.turn`` counts from it).
        """
        tt = as_turns(turns)
        picked = range(len(tt)) if only is None else sorted(set(only))
        rows: list[tuple[int, Sentence, cues.Context]] = []
        for i in picked:
            if tt[i].role == "system":
                continue
            rows.extend((i, s, ctx) for s, ctx in turn_units(tt, i, offset))
        if not rows:
            return []
        proba, path = self.proba_path([s.text for _, s, _ in rows], [ctx for _, _, ctx in rows])
        out = []
        for (i, s, ctx), p in zip(rows, proba):
            p = p.copy()
            if NOT_PROSE_RE.match(s.text):
                p = np.eye(len(LABELS))[0]
            if ctx.role != "user":
                p[LABELS.index("request")] = 0.0
            elif cues.ASKS_FOR_WORK.match(s.text):  # what the model gave a choice is the request's
                p[LABELS.index("request")] += p[LABELS.index("decision")]
                p[LABELS.index("decision")] = 0.0
            raw = tuple(float(x) for x in p)
            p[self.margin_mask(p, ctx.role, path)] = 0.0
            label = LABELS[int(np.argmax(p))]
            out.append(Labelled(s, i + offset, tt[i].source, ctx.role, label, float(p.max()),
                                tuple(float(x) for x in p), raw))
        return out

    def margin_mask(self, p: np.ndarray, role: str, path: str = "cues") -> np.ndarray:
        """Labels whose probability is under the speaker's shipped threshold (tuned on dev; "other" never is)."""
        limits = np.asarray(self.model.role_thresholds(role, path), dtype=np.float32)
        return (p < limits) & (np.arange(len(LABELS)) > 0)

    def proba(self, texts: Sequence[str], contexts: Sequence[cues.Context]) -> np.ndarray:
        return self.proba_path(texts, contexts)[0]

    def proba_path(self, texts: Sequence[str], contexts: Sequence[cues.Context]) -> tuple[np.ndarray, str]:
        """Label probabilities per sentence, and which weights gave them (``full`` or ``cues``)."""
        cue_rows = np.vstack([cues.features(t, c) for t, c in zip(texts, contexts)])
        if self.path == "full":
            try:
                emb = self.embedder.embed([t[:MAX_EMBED_CHARS] for t in texts])
                return self.model.full.proba(design(cue_rows, np.asarray(emb))), "full"
            except Exception as exc:  # noqa: BLE001 - the embedder failing must not lose the turn's knowledge
                log.warning("sentence embeddings failed (%s); using the cue-only model", exc)
        return self.model.cues.proba(cue_rows), "cues"
