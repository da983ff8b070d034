"""Train the resolution linker (``resolve.py``) and write the shipped weights.

    python -m forge_tui.knowledge.pipeline.train_resolve [--corpus DIR] [--out PATH]

Pairs come from running the pipeline (the shipped sentence classifier, cue path)
over each conversation with an oracle linker that closes what the labels say, so
the candidates at each closing sentence are the ones the pipeline really offers;
a pair is positive when the candidate is the question that the closing sentence's
label resolves. Regularisation and the per-label thresholds are chosen on dev
(weights fitted on train), by the questions' state on dev (precision and right
status); the shipped weights are then fitted on train+dev. The test split is
never read. Fixed seed, full batch: the same corpus gives the same file.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import numpy as np

from forge_tui.knowledge.pipeline import resolve
from forge_tui.knowledge.pipeline.classify import SentenceClassifier
from forge_tui.knowledge.pipeline.corpus import Conversation, load
from forge_tui.knowledge.pipeline.pairs import fit_pairs
from forge_tui.knowledge.pipeline.scoring import Scores, score
from forge_tui.knowledge.pipeline.state import extract_state
from forge_tui.knowledge.pipeline.train import DEFAULT_CORPUS, SEED

DEFAULT_OUT = Path(__file__).resolve().parent / resolve.WEIGHTS_FILE
L2_GRID = (1e-3, 1e-2, 3e-2)
POWER_GRID = (0.0, 0.5)
THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def _overlap(a: tuple[int, int, int], b: tuple[int, int, int]) -> bool:
    return a[0] == b[0] and a[1] < b[2] and b[1] < a[2]


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
        wanted = next((q for span, q in self.resolutions if _overlap(span, closing.span)), None)
        gold = None
        if wanted is not None:
            gold = next((i for i, c in enumerate(candidates)
                         if any(_overlap(a, b) for a in c.spans for b in self.questions.get(wanted, ()))), None)
            if gold is None:
                return None  # its question is not among the candidates: nothing to learn from this one
        rows = resolve.pair_rows(closing, candidates)
        self.rows.extend(rows)
        self.ys.extend(int(i == gold) for i in range(len(candidates)))
        return candidates[gold] if gold is not None else None


def pairs(convs: list[Conversation], classifier: SentenceClassifier) -> tuple[np.ndarray, np.ndarray]:
    rows, ys = [], []
    for conv in convs:
        oracle = Oracle(conv)
        extract_state(conv.dict_turns(), classifier, oracle)
        rows.extend(oracle.rows)
        ys.extend(oracle.ys)
    if not rows:
        return np.zeros((0, len(resolve.FEATURE_NAMES)), np.float32), np.zeros(0, np.int64)
    return np.vstack(rows), np.asarray(ys, dtype=np.int64)


def question_f1(convs: list[Conversation], classifier: SentenceClassifier, linker: resolve.Linker) -> float:
    s = Scores()
    for conv in convs:
        score(conv, extract_state(conv.dict_turns(), classifier, linker), s)
    p, r = s.question_precision, s.question_status
    return 2 * p * r / (p + r) if p + r else 0.0


def train(corpus: Path, log=print) -> resolve.Linker:
    from forge_tui.knowledge.pipeline import shipped_model

    classifier = SentenceClassifier(shipped_model(), None)
    train_convs, dev_convs = load(corpus, ("train",)), load(corpus, ("dev",))
    if not train_convs:
        raise SystemExit(f"no training conversations in {corpus}")
    x_tr, y_tr = pairs(train_convs, classifier)
    x_dv, y_dv = pairs(dev_convs, classifier)
    log(f"pairs: train {len(y_tr)} ({int(y_tr.sum())} positive), dev {len(y_dv)} ({int(y_dv.sum())} positive)")
    best = (-1.0, L2_GRID[0], POWER_GRID[0], {})
    for l2 in L2_GRID:
        for power in POWER_GRID:
            w = fit_pairs(x_tr, y_tr, l2, power, SEED)
            chosen: dict[str, float] = {"resolution": 0.5, "decision": 1.0}
            top = 0.0
            for label in ("resolution", "decision"):
                scored = []
                for th in THRESHOLDS:
                    trial = resolve.Linker(w, {**chosen, label: th})
                    scored.append((round(question_f1(dev_convs, classifier, trial), 4), th))
                top, chosen[label] = max(scored)
            log(f"l2 {l2}, class-weight power {power}: dev questions F1 {top:.3f} at {chosen}")
            if top > best[0]:
                best = (top, l2, power, dict(chosen))
    top, l2, power, thresholds = best
    log(f"chosen: l2 {l2}, power {power}, thresholds {thresholds} (dev questions F1 {top:.3f})")
    w = fit_pairs(np.vstack([x_tr, x_dv]), np.concatenate([y_tr, y_dv]), l2, power, SEED)
    digest = hashlib.sha256("\n".join(sorted(c.id for c in train_convs + dev_convs)).encode()).hexdigest()[:12]
    info = (f"seed {SEED}; {len(train_convs)} train + {len(dev_convs)} dev conversations ({digest}); "
            f"{len(y_tr) + len(y_dv)} pairs; l2 {l2}, power {power}; dev questions F1 {top:.3f}")
    return resolve.Linker(w.astype(np.float32), thresholds, info)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    if not args.corpus.is_dir():
        print(f"train_resolve: no corpus folder {args.corpus}; pass --corpus DIR", file=sys.stderr)
        return 2
    linker = train(args.corpus)
    linker.save(args.out, resolve.FEATURE_NAMES)
    print(f"wrote {args.out} ({linker.info})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
