"""Train the resolution linker (``resolve.py``) and write the shipped weights.

    python -m forge_tui.knowledge.pipeline.train_resolve [--corpus DIR] [--out PATH]

Pairs come from running the pipeline (the sentence classifier, cue path, with weights that never
saw the conversation: ``train.held_out_classifiers``)
over each conversation with an oracle linker that closes what the labels say, so
the candidates at each closing sentence are the ones the pipeline really offers;
a pair is positive when the candidate is the question that the closing sentence's
label resolves. Regularisation and the per-label thresholds are chosen by the
questions' state (precision and right status) over train+dev, each conversation
run with weights fitted without its fold (``pair_training.search``); the shipped
weights are then fitted on train+dev. The test split is never read. Fixed seed,
full batch: the same corpus gives the same file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from forge_tui.knowledge.pipeline import pair_training, resolve
from forge_tui.knowledge.pipeline.classify import SentenceClassifier
from forge_tui.knowledge.pipeline.corpus import Conversation, load
from forge_tui.knowledge.pipeline.pair_training import THRESHOLDS, Pairs, collect, overlap, provenance, search
from forge_tui.knowledge.pipeline.scoring import Scores, score
from forge_tui.knowledge.pipeline.state import extract_state
from forge_tui.knowledge.pipeline.train import held_out_classifiers

DEFAULT_OUT = Path(__file__).resolve().parent / resolve.WEIGHTS_FILE


class Oracle:
    """A linker that closes what the labels say and records every pair it was shown."""

    def __init__(self, conv: Conversation):
        self.questions: dict[str, list[tuple[int, int, int]]] = {}
        self.resolutions: list[tuple[tuple[int, int, int], str]] = []
        for t, s, e, lab in conv.label_spans():
            if lab["label"] == "question":
                self.questions.setdefault(lab["id"], []).append((t, s, e))
            elif lab["label"] == "resolution" and lab.get("resolves"):
                self.resolutions.append(((t, s, e), lab["resolves"]))
        self.rows: list[np.ndarray] = []
        self.ys: list[int] = []

    def choose(self, closing: resolve.Closing, candidates):
        if not candidates or closing.span is None:
            return None
        wanted = next((q for span, q in self.resolutions if overlap(span, closing.span)), None)
        gold = None
        if wanted is not None:
            gold = next((i for i, c in enumerate(candidates)
                         if any(overlap(a, b) for a in c.spans for b in self.questions.get(wanted, ()))), None)
            if gold is None:
                return None  # its question is not among the candidates: nothing to learn from this one
        rows = resolve.pair_rows(closing, candidates)
        self.rows.extend(rows)
        self.ys.extend(int(i == gold) for i in range(len(candidates)))
        return candidates[gold] if gold is not None else None


def pairs(convs: list[Conversation], classifiers: dict[str, SentenceClassifier]) -> dict[str, Pairs]:
    def run(conv: Conversation) -> Oracle:
        oracle = Oracle(conv)
        extract_state(conv.dict_turns(), classifiers[conv.id], oracle)
        return oracle

    return collect(convs, run, len(resolve.FEATURE_NAMES))


def question_f1(convs: list[Conversation], classifiers: dict[str, SentenceClassifier],
                linker: Callable[[str], resolve.Linker]) -> float:
    """Questions F1 (precision, right status), each conversation run with ``linker(its id)``."""
    s = Scores()
    for conv in convs:
        score(conv, extract_state(conv.dict_turns(), classifiers[conv.id], linker(conv.id)), s)
    p, r = s.question_precision, s.question_status
    return 2 * p * r / (p + r) if p + r else 0.0


def train(corpus: Path, log=print) -> resolve.Linker:
    from forge_tui.knowledge.pipeline import shipped_model

    train_convs, dev_convs = load(corpus, ("train",)), load(corpus, ("dev",))
    if not train_convs:
        raise SystemExit(f"no training conversations in {corpus}")
    convs = train_convs + dev_convs
    classifiers = held_out_classifiers(convs, shipped_model(), log=log)

    def evaluate(weights: Callable[[str], np.ndarray]) -> tuple[float, dict[str, float]]:
        """Each label's threshold in turn (resolutions first), by questions F1."""
        chosen: dict[str, float] = {"resolution": 0.5, "decision": 1.0}
        top = 0.0
        for label in ("resolution", "decision"):
            ths = {**chosen}
            scored = []
            for th in THRESHOLDS:
                ths[label] = th
                f1 = question_f1(convs, classifiers, lambda cid, t=dict(ths): resolve.Linker(weights(cid), t))
                scored.append((round(f1, 4), th))
            top, chosen[label] = max(scored)
        return top, chosen

    w, thresholds, summary = search(pairs(convs, classifiers), evaluate, "questions F1", log)
    return resolve.Linker(w.astype(np.float32), thresholds, provenance(train_convs, dev_convs, summary))


def main(argv: list[str] | None = None) -> int:
    return pair_training.main("train_resolve", train, resolve.FEATURE_NAMES, DEFAULT_OUT, argv)


if __name__ == "__main__":
    raise SystemExit(main())
