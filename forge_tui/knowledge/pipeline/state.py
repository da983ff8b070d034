"""A conversation's state: current decisions, open and resolved questions, constraints, artifacts.

``Tracker`` folds labelled sentences into items turn by turn (what the registry
does live and what the archive does in one pass), applying the links of
``link.py``: revisions supersede (both kept), agreement records the accepted
proposal, restatements merge, resolutions close questions.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np

from forge_tui.knowledge.pipeline import cues, link, resolve, revise
from forge_tui.knowledge.pipeline.artifacts import Artifacts, scan
from forge_tui.knowledge.pipeline.classify import MAX_EMBED_CHARS, Labelled, SentenceClassifier, TurnText, as_turns
from forge_tui.knowledge.pipeline.text import content_words, split_sentences

log = logging.getLogger(__name__)


@dataclass
class DecisionItem:
    id: str  # D1, D2… within the conversation
    text: str  # the deciding sentence, verbatim
    value: str  # what was chosen (for an accepted proposal: the proposal)
    role: str
    sources: list[str]
    turns: list[int]
    confidence: float
    status: str = "active"  # active | superseded
    supersedes: list[str] = field(default_factory=list)
    superseded_by: str | None = None
    accepts: str | None = None  # message id of the accepted proposal
    tentative: bool = False
    statements: list[str] = field(default_factory=list)  # every sentence that stated it
    evidence: list[tuple[int, int, int]] = field(default_factory=list)  # (turn, start, end) of each statement


@dataclass
class QuestionItem:
    id: str  # Q1…
    title: str
    text: str
    role: str
    sources: list[str]
    turns: list[int]
    confidence: float
    status: str = "OPEN"  # OPEN | RESOLVED
    resolution: str = ""
    resolved_by: str | None = None  # message id of the answering turn
    resolved_turn: int | None = None
    evidence: list[tuple[int, int, int]] = field(default_factory=list)  # (turn, start, end) of each asking


@dataclass
class ConstraintItem:
    quote: str  # verbatim
    role: str
    source: str
    turn: int
    confidence: float


@dataclass
class RequestItem:
    text: str
    source: str
    turn: int


@dataclass
class ConversationState:
    decisions: list[DecisionItem] = field(default_factory=list)
    questions: list[QuestionItem] = field(default_factory=list)
    constraints: list[ConstraintItem] = field(default_factory=list)
    requests: list[RequestItem] = field(default_factory=list)
    artifacts: list[dict] = field(default_factory=list)
    labelled: list[Labelled] = field(default_factory=list)
    path: str = "cues"  # which classifier weights ran: full (embedding + cues) or cues

    def current_decisions(self) -> list[DecisionItem]:
        return [d for d in self.decisions if d.status == "active"]

    def open_questions(self) -> list[QuestionItem]:
        return [q for q in self.questions if q.status == "OPEN"]


class Tracker:
    """Feeds turns in order into one ``ConversationState``."""

    def __init__(self, classifier: SentenceClassifier, linker: resolve.Linker | None = None,
                 reviser: revise.Reviser | None = None):
        """``linker``: which question a closing sentence settles; ``reviser``: which decision a new one
        replaces (default: the shipped ones)."""
        self.classifier = classifier
        self.linker = linker if linker is not None else resolve.shipped_linker()
        self.reviser = reviser if reviser is not None else revise.shipped_reviser()
        self.state = ConversationState()
        self.turns: list[TurnText] = []
        self._arts = Artifacts()
        self._vectors: dict[str, np.ndarray] = {}  # decision statements' embeddings (revision linking)
        self._by_turn: dict[int, list[Labelled]] = {}  # labelled sentences per turn

    def add(self, turn: Any) -> list[Labelled]:
        """Add one turn; returns its labelled sentences (the state is updated)."""
        self.turns.append(as_turns([turn])[0])
        return self._fold([len(self.turns) - 1])

    def add_all(self, turns: Iterable[Any]) -> ConversationState:
        start = len(self.turns)
        self.turns.extend(as_turns(turns))
        self._fold(range(start, len(self.turns)))
        return self.state

    def _fold(self, indexes: Iterable[int]) -> list[Labelled]:
        indexes = list(indexes)
        labelled = self.classifier.label(self.turns, only=indexes)
        self.state.path = self.classifier.path
        self.state.labelled.extend(labelled)
        by_turn: dict[int, list[Labelled]] = {}
        for item in labelled:
            by_turn.setdefault(item.turn, []).append(item)
        self._by_turn.update(by_turn)  # before folding: a resolution may look back at earlier sentences
        for i in indexes:
            turn = self.turns[i]
            if turn.role != "system":
                scan(self._arts, turn.content, turn.source)
            units = by_turn.get(i, [])
            for j, item in enumerate(units):
                self._apply(item, topic_before([u.text for u in units[:j]]))
        self.state.artifacts = self._arts.items
        return labelled

    # -- one sentence ---------------------------------------------------------------
    def _apply(self, item: Labelled, before: str) -> None:
        closed = False
        if item.label != "resolution" and item.label != "question" and (
                item.second == "resolution" or link.closes_question(item.text)):
            closed = self._resolution(item)  # "so that answers the bf16 question, bf16 it is"
        if item.label == "decision":
            statement = self._decision(item)
            if statement is not None and not closed:
                self._resolution(item, "decision", statement)  # "test strip approach it is" settles the question
        elif item.label == "question":
            self._question(item, before)
        elif item.label == "resolution":
            self._resolution(item)
        elif item.label == "constraint":
            self.state.constraints.append(ConstraintItem(item.text, item.role, item.source, item.turn, item.confidence))
        elif item.label == "request":
            self.state.requests.append(RequestItem(item.text, item.source, item.turn))

    def _known_decisions(self) -> list[link.Known]:
        return [link.Known(d.id, d.text if not d.accepts else d.value, d.value, d.turns[-1])
                for d in self.state.decisions if d.status == "active"]

    def _known_questions(self) -> list[link.Known]:
        return [link.Known(q.id, q.text, q.title, q.turns[-1]) for q in self.state.questions if q.status == "OPEN"]

    def _decision(self, item: Labelled) -> str | None:
        """Record, merge or drop a decision sentence; the new decision's statement when one was made."""
        accepts, value = self._accepted_proposal(item)
        value = value or link.decision_value(item.text)
        statement = value if accepts else item.text
        active = self._known_decisions()
        follows = [d.id for d in self.state.decisions
                   if d.status == "active" and d.turns[-1] == item.turn - 1 and d.role != item.role]
        here = [d.id for d in self.state.decisions if d.status == "active" and d.turns[-1] == item.turn]
        same = link.restated(statement, value, active, follows)
        if same is None and here and not accepts and not link.own_words(item.text) and not link.is_reversal(item.text):
            same = here[-1]  # "That's settled." after the decision it confirms
        if same is not None:
            d = next(d for d in self.state.decisions if d.id == same)
            if item.source not in d.sources:
                d.sources.append(item.source)
                d.turns.append(item.turn)
            d.statements.append(item.text)
            d.evidence.append(_span(item))
            return None
        if not link.may_open_decision(item.role):
            return None
        new = DecisionItem(
            id=f"D{len(self.state.decisions) + 1}", text=item.text, value=value, role=item.role,
            sources=[item.source], turns=[item.turn], confidence=item.confidence, accepts=accepts,
            tentative=bool(cues.CUES["tentative"].search(item.text)), statements=[item.text], evidence=[_span(item)],
        )  # fmt: skip
        old_id = self._revised(new, statement, item)
        if old_id is None:
            old_id = link.similar_revision(statement, value, active, self._similar(statement, active))
        if old_id is not None:
            old = next(d for d in self.state.decisions if d.id == old_id)
            old.status, old.superseded_by = "superseded", new.id
            new.supersedes.append(old.id)
        self.state.decisions.append(new)
        return statement

    def _revised(self, new: DecisionItem, statement: str, item: Labelled) -> str | None:
        stated = [revise.Stated(d.id, d.text if not d.accepts else d.value, d.value, d.turns[-1], d.tentative,
                                tuple(d.evidence)) for d in self.state.decisions if d.status == "active"]
        hit = self.reviser.choose(revise.Stated("", statement, new.value, item.turn, new.tentative, (_span(item),)),
                                  stated)
        return hit.key if hit is not None else None

    def _similar(self, statement: str, active: list[link.Known]) -> dict[str, float] | None:
        """Cosine of ``statement`` with each active decision, when the classifier's embedder is ready
        (whichever weights the classifier runs: the similarity is the embedder's, not the model's)."""
        embedder = self.classifier.embedder
        if not active or embedder is None or not getattr(embedder, "is_ready", False):
            return None
        texts = [statement] + [k.text for k in active]
        todo = [t for t in texts if t not in self._vectors]
        try:
            if todo:
                for t, v in zip(todo, embedder.embed([t[:MAX_EMBED_CHARS] for t in todo])):
                    self._vectors[t] = np.asarray(v, dtype=np.float32)
        except Exception as exc:  # noqa: BLE001 - without similarities the word rules still link
            log.warning("decision embeddings failed (%s); linking by words only", exc)
            return None
        return {k.id: link.cosine(self._vectors[statement], self._vectors[k.text]) for k in active}

    def _accepted_proposal(self, item: Labelled) -> tuple[str | None, str]:
        """For "sounds good, do that": the previous assistant turn's proposal (source, text)."""
        if item.role != "user" or item.turn == 0 or not link.accepts_proposal(item.text):
            return None, ""
        prev = self.turns[item.turn - 1]
        if prev.role != "assistant":
            return None, ""
        return prev.source, link.accepted_value(proposal_in(prev.content), item.text)

    def _question(self, item: Labelled, before: str) -> None:
        known = self._known_questions()
        dup = link.duplicate_question(item.text, known)
        last = self.state.questions[-1] if self.state.questions else None
        if (dup is None and last is not None and last.status == "OPEN" and self._asked_just_before(last, item)
                and link.continues_question(last.text, item.text)):
            dup = last.id  # "ariadne or codespan-reporting? not sure yet which one": one question, two sentences
        status, asked = item, self._put_just_before(item)
        if asked is not None:  # "reference checks before or after offer? TBD": the status makes it a question
            item, before, dup = asked, "", None
            self.state.requests = [r for r in self.state.requests if (r.source, r.text) != (item.source, item.text)]
        elif dup is None and last is not None and last.status == "OPEN" and last.turns[-1] == item.turn \
                and link.status_only(item.text):
            dup = last.id  # "jamovi or r. the students are scared of r. not sure yet": a status, not a question
        if dup is not None:
            q = next(q for q in self.state.questions if q.id == dup)
            if item.source not in q.sources:
                q.sources.append(item.source)
                q.turns.append(item.turn)
            q.evidence.append(_span(item))
            return
        self.state.questions.append(QuestionItem(
            id=f"Q{len(self.state.questions) + 1}", title=link.question_title(item.text, before), text=item.text,
            role=item.role, sources=[item.source], turns=[item.turn], confidence=item.confidence,
            evidence=[_span(item)] + ([_span(status)] if asked is not None else []),
        ))  # fmt: skip

    def _put_just_before(self, status: Labelled) -> Labelled | None:
        """The sentence right before a bare status ("TBD", "not sure yet") in its turn, when it asks something
        with a question mark that was read as no question ("reference checks before or after offer?")."""
        units = self._by_turn.get(status.turn, [])
        at = next((i for i, u in enumerate(units) if u is status), 0)
        prev = units[at - 1] if at > 0 else None
        return prev if prev is not None and link.status_asks(status.text, prev.text, prev.label) else None

    def _asked_just_before(self, q: QuestionItem, item: Labelled) -> bool:
        turn, _, end = q.evidence[-1]
        if turn != item.turn:
            return False
        between = self.turns[turn].content[end:item.sentence.start] if turn < len(self.turns) else ""
        return not between.strip(" \t\r\n-*•")

    def _resolution(self, item: Labelled, label: str = "resolution", text: str = "") -> bool:
        """Close the question ``item`` settles (an earlier question-like sentence becomes one first)."""
        target = self.linker.choose(resolve.closing_of(item, label, text), self.question_candidates(item.turn))
        if target is None:
            return False
        self._close(target.key or self._open_from(target), item)
        return True

    def question_candidates(self, turn: int) -> list[resolve.Asked]:
        """What a sentence of ``turn`` may settle: open questions, then unrecorded question-like sentences."""
        items = [resolve.Asked(q.id, q.text, q.turns[-1], "user", 1.0, q.title, tuple(q.evidence))
                 for q in self.state.questions if q.status == "OPEN" and q.turns[0] < turn]
        held = {(t, s) for q in self.state.questions for t, s, _ in q.evidence}
        recent = [it for t in range(max(0, turn - resolve.LOOK_BACK), turn) for it in self._by_turn.get(t, ())]
        return items + resolve.sentence_candidates(recent, turn, lambda it: (it.turn, it.sentence.start) in held)

    def _open_from(self, asked: resolve.Asked) -> str:
        q = QuestionItem(
            id=f"Q{len(self.state.questions) + 1}", title=link.question_title(asked.text), text=asked.text,
            role=asked.role, sources=[asked.source], turns=[asked.turn or 0], confidence=asked.p_question,
            evidence=list(asked.spans),
        )  # fmt: skip
        self.state.questions.append(q)
        return q.id

    def _close(self, qid: str, item: Labelled) -> None:
        q = next(q for q in self.state.questions if q.id == qid)
        q.status, q.resolution, q.resolved_by, q.resolved_turn = "RESOLVED", item.text, item.source, item.turn


#: a sentence that poses a choice or a question ("for the assignments jamovi or r.")
_POSES = re.compile(r"\?|\b(?:or|whether|which|should)\b", re.I)
#: how many sentences back a bare "not sure yet" may look for what it is unsure about
TOPIC_LOOK_BACK = 3


def topic_before(earlier: Sequence[str]) -> str:
    """What a bare hedge ("not sure yet", "TBD") is about: the nearest of the last few
    sentences before it in its turn that poses a choice or a question, else the nearest that
    says something ("" when none does)."""
    recent = list(reversed(earlier[-TOPIC_LOOK_BACK:]))
    for i, text in enumerate(recent):
        if _POSES.search(text):
            if len(content_words(text)) < 3 and i + 1 < len(recent):
                return f"{recent[i + 1]} {text}"  # "instacart for premium. worth it?"
            return text
    return next((text for text in recent if len(content_words(text)) >= 2), "")


def _span(item: Labelled) -> tuple[int, int, int]:
    return (item.turn, item.sentence.start, item.sentence.end)


def proposal_in(text: str) -> str:
    """The proposal a turn makes: its first sentence with a proposal or commitment cue, else its first."""
    units = [s.text for s in split_sentences(text) if s.kind != "code"]
    for s in units:
        if cues.CUES["proposal"].search(s) or cues.CUES["commit"].search(s):
            return s
    return units[0] if units else text.strip()[:300]


def extract_state(turns: Sequence[Any], classifier: SentenceClassifier, linker: resolve.Linker | None = None,
                  reviser: revise.Reviser | None = None) -> ConversationState:
    """The state of a whole conversation (turns in order)."""
    return Tracker(classifier, linker, reviser).add_all(turns)
