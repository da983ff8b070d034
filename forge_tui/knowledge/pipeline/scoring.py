"""Scores of the pipeline against the labelled corpus (``bench/extraction_quality.py`` prints them).

Sentence labels: precision / recall / F1 per label over every prose unit.
State: decisions found (each labelled decision id matched once by the item whose
first statement overlaps its labels; duplicates and unmatched items count
against precision), questions with the right OPEN / RESOLVED status, and
superseded values presented as current (a stale value inside a current decision's value).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from forge_tui.knowledge.pipeline.corpus import TARGET, Conversation
from forge_tui.knowledge.pipeline.model import LABELS
from forge_tui.knowledge.pipeline.state import ConversationState

SCORED = ("decision", "question", "resolution", "constraint", "request")


@dataclass
class Scores:
    conversations: int = 0
    sentence: Counter = field(default_factory=Counter)  # (label, tp|fp|fn)
    decisions_expected: int = 0
    decisions_found: int = 0  # expected ids matched
    decisions_predicted: int = 0
    decisions_correct: int = 0  # predicted items that are a labelled decision (first match only)
    decision_status_right: int = 0  # matched ids whose active/superseded status is right
    questions_expected: int = 0
    questions_status_right: int = 0
    questions_predicted: int = 0
    questions_correct: int = 0
    stale_current: int = 0
    stale_total: int = 0
    artifacts_expected: int = 0
    artifacts_found: int = 0
    misses: list[str] = field(default_factory=list)

    def prf(self, label: str) -> tuple[float, float, float]:
        tp, fp, fn = (self.sentence[(label, k)] for k in ("tp", "fp", "fn"))
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        return p, r, (2 * p * r / (p + r) if p + r else 0.0)

    @property
    def decision_recall(self) -> float:
        return self.decisions_found / self.decisions_expected if self.decisions_expected else 0.0

    @property
    def decision_precision(self) -> float:
        return self.decisions_correct / self.decisions_predicted if self.decisions_predicted else 0.0

    @property
    def question_status(self) -> float:
        return self.questions_status_right / self.questions_expected if self.questions_expected else 0.0

    @property
    def question_precision(self) -> float:
        return self.questions_correct / self.questions_predicted if self.questions_predicted else 0.0


def _overlaps(span: tuple[int, int, int], spans: list[tuple[int, int, int]]) -> bool:
    t, s, e = span
    return any(t == t2 and s < e2 and s2 < e for t2, s2, e2 in spans)


def score(conv: Conversation, state: ConversationState, scores: Scores) -> None:
    scores.conversations += 1
    _sentences(conv, state, scores)
    spans = conv.label_spans()
    _decisions(conv, state, spans, scores)
    _questions(conv, state, spans, scores)
    _stale(conv, state, scores)
    _artifacts(conv, state, scores)


def _sentences(conv: Conversation, state: ConversationState, scores: Scores) -> None:
    by_turn: dict[int, dict[int, str]] = {}
    for item in state.labelled:
        by_turn.setdefault(item.turn, {})[item.sentence.start] = item.label
    for turn in range(len(conv.turns)):
        units = conv.units(turn)
        for unit, want in zip(units, conv.sentence_targets(turn, units)):
            got = by_turn.get(turn, {}).get(unit.start, "other")
            for label in SCORED:
                if got == label and want == label:
                    scores.sentence[(label, "tp")] += 1
                elif got == label:
                    scores.sentence[(label, "fp")] += 1
                elif want == label:
                    scores.sentence[(label, "fn")] += 1
            if got != want and len(scores.misses) < 4000:
                scores.misses.append(f"{conv.id}:{turn} want {want:<10} got {got:<10} {unit.text[:90]!r}")


def _decisions(conv, state, spans, scores: Scores) -> None:
    ids: dict[str, list[tuple[int, int, int]]] = {}
    for t, s, e, lab in spans:
        if lab["label"] in ("decision", "revision"):
            ids.setdefault(lab["id"], []).append((t, s, e))
    expected = conv.expected.get("decisions", {})
    scores.decisions_expected += len(ids)
    matched: set[str] = set()
    for item in state.decisions:
        scores.decisions_predicted += 1
        first = item.evidence[0] if item.evidence else None
        did = next((d for d, sp in ids.items() if first and _overlaps(first, sp) and d not in matched), None)
        if did is None:
            continue
        matched.add(did)
        scores.decisions_correct += 1
        if item.status == (expected.get(did) or {}).get("status", "active"):
            scores.decision_status_right += 1
    # an id is found when any item's evidence covers it (a merged restatement counts for its id)
    for did, sp in ids.items():
        if any(_overlaps(ev, sp) for item in state.decisions for ev in item.evidence):
            scores.decisions_found += 1


def _questions(conv, state, spans, scores: Scores) -> None:
    ids: dict[str, list[tuple[int, int, int]]] = {}
    for t, s, e, lab in spans:
        if lab["label"] == "question":
            ids.setdefault(lab["id"], []).append((t, s, e))
    expected = conv.expected.get("questions", {})
    scores.questions_expected += len(ids)
    matched: set[str] = set()
    for item in state.questions:
        scores.questions_predicted += 1
        qid = next((q for q, sp in ids.items() if any(_overlaps(ev, sp) for ev in item.evidence) and q not in matched),
                   None)
        if qid is None:
            continue
        matched.add(qid)
        scores.questions_correct += 1
        if item.status == (expected.get(qid) or {}).get("status", "OPEN"):
            scores.questions_status_right += 1


def _stale(conv, state: ConversationState, scores: Scores) -> None:
    stale = conv.expected.get("stale_values", [])
    scores.stale_total += len(stale)
    current = [d.value or d.text for d in state.current_decisions()]
    for value in stale:
        rx = re.compile(r"(?<!\w)" + re.escape(value.lower()) + r"(?!\w)")
        if any(rx.search(v.lower()) for v in current):
            scores.stale_current += 1


def _artifacts(conv, state: ConversationState, scores: Scores) -> None:
    names = [a["name"].lower() for a in state.artifacts]
    for lab in conv.labels:
        if lab["label"] == "artifact":
            scores.artifacts_expected += 1
            want = lab["text"].lower().strip("` ")
            if any(want in n or (len(n) > 3 and n in want) for n in names):
                scores.artifacts_found += 1


__all__ = ["LABELS", "SCORED", "TARGET", "Scores", "score"]
