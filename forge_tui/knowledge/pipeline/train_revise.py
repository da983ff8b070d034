"""Train the revision linker (``revise.py``) and write the shipped weights.

    python -m forge_tui.knowledge.pipeline.train_revise [--corpus DIR] [--out PATH]

Pairs come from running the pipeline (the sentence classifier, cue path, with weights that never
saw the conversation: ``train.held_out_classifiers``)
over each conversation with an oracle reviser that supersedes what the labels
say, so the active decisions at each new decision are the ones the pipeline
really holds; a pair is positive when the new decision is labelled a revision of
that decision. Regularisation and the threshold are chosen by the decisions' state
(right active/superseded status, fewer superseded values presented as current) over
train+dev, each conversation run with weights fitted without its fold
(``pair_training.search``); the shipped weights are then fitted on train+dev. The
test split is never read. Fixed seed: the same corpus gives the same file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from forge_tui.knowledge.pipeline import pair_training, revise
from forge_tui.knowledge.pipeline.classify import SentenceClassifier
from forge_tui.knowledge.pipeline.corpus import Conversation, load
from forge_tui.knowledge.pipeline.pair_training import THRESHOLDS, Pairs, collect, overlap, provenance, search
from forge_tui.knowledge.pipeline.scoring import Scores, score
from forge_tui.knowledge.pipeline.state import extract_state
from forge_tui.knowledge.pipeline.train import held_out_classifiers

DEFAULT_OUT = Path(__file__).resolve().parent / revise.WEIGHTS_FILE


class Oracle:
    """A reviser that supersedes what the labels say and records every pair it was shown."""

    def __init__(self, conv: Conversation):
        self.decisions: dict[str, list[tuple[int, int, int]]] = {}
        self.revisions: list[tuple[tuple[int, int, int], str]] = []
        for t, s, e, lab in conv.label_spans():
            if lab["label"] in ("decision", "revision"):
                self.decisions.setdefault(lab["id"], []).append((t, s, e))
            if lab["label"] == "revision" and lab.get("revises"):
                self.revisions.append(((t, s, e), lab["revises"]))
        self.rows: list[np.ndarray] = []
        self.ys: list[int] = []

    def choose(self, new: revise.Stated, active):
        if not active or not new.spans:
            return None
        wanted = next((d for span, d in self.revisions if overlap(span, new.spans[0])), None)
        gold = None
        if wanted is not None:
            gold = next((i for i, k in enumerate(active)
                         if any(overlap(a, b) for a in k.spans for b in self.decisions.get(wanted, ()))), None)
            if gold is None:
                return None  # the decision it revises is not among the active ones: nothing to learn here
        self.rows.extend(revise.pair_rows(new, active))
        self.ys.extend(int(i == gold) for i in range(len(active)))
        return active[gold] if gold is not None else None


def pairs(convs: list[Conversation], classifiers: dict[str, SentenceClassifier]) -> dict[str, Pairs]:
    def run(conv: Conversation) -> Oracle:
        oracle = Oracle(conv)
        extract_state(conv.dict_turns(), classifiers[conv.id], reviser=oracle)
        return oracle

    return collect(convs, run, len(revise.FEATURE_NAMES))


def state_score(convs: list[Conversation], classifiers: dict[str, SentenceClassifier],
                reviser: Callable[[str], revise.Reviser]) -> float:
    """Decisions with the right status, less superseded values presented as current (share of each),
    each conversation run with ``reviser(its id)``."""
    s = Scores()
    for conv in convs:
        score(conv, extract_state(conv.dict_turns(), classifiers[conv.id], reviser=reviser(conv.id)), s)
    right = s.decision_status_right / s.decisions_expected if s.decisions_expected else 0.0
    stale = s.stale_current / s.stale_total if s.stale_total else 0.0
    return right - stale


def train(corpus: Path, log=print) -> revise.Reviser:
    from forge_tui.knowledge.pipeline import shipped_model

    train_convs, dev_convs = load(corpus, ("train",)), load(corpus, ("dev",))
    if not train_convs:
        raise SystemExit(f"no training conversations in {corpus}")
    convs = train_convs + dev_convs
    classifiers = held_out_classifiers(convs, shipped_model(), log=log)

    def evaluate(weights: Callable[[str], np.ndarray]) -> tuple[float, dict[str, float]]:
        """The decision threshold, by the decisions' state."""
        top, th = max((round(state_score(convs, classifiers,
                                         lambda cid, t=th: revise.Reviser(weights(cid), {"decision": t})), 4), th)
                      for th in THRESHOLDS)
        return top, {"decision": th}

    w, thresholds, summary = search(pairs(convs, classifiers), evaluate, "state", log)
    return revise.Reviser(w, thresholds, provenance(train_convs, dev_convs, summary))


def main(argv: list[str] | None = None) -> int:
    return pair_training.main("train_revise", train, revise.FEATURE_NAMES, DEFAULT_OUT, argv)


if __name__ == "__main__":
    raise SystemExit(main())
