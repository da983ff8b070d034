"""Train the revision linker (``revise.py``) and write the shipped weights.

    python -m forge_tui.knowledge.pipeline.train_revise [--corpus DIR] [--out PATH]

Pairs come from running the pipeline (the shipped sentence classifier, cue path)
over each conversation with an oracle reviser that supersedes what the labels
say, so the active decisions at each new decision are the ones the pipeline
really holds; a pair is positive when the new decision is labelled a revision of
that decision. Regularisation and the threshold are chosen on dev (weights fitted
on train) by the decisions' state on dev (right active/superseded status, fewer
superseded values presented as current); the shipped weights are then fitted on
train+dev. The test split is never read. Fixed seed: the same corpus gives the same file.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import numpy as np

from forge_tui.knowledge.pipeline import revise
from forge_tui.knowledge.pipeline.classify import SentenceClassifier
from forge_tui.knowledge.pipeline.corpus import Conversation, load
from forge_tui.knowledge.pipeline.pairs import fit_pairs
from forge_tui.knowledge.pipeline.scoring import Scores, score
from forge_tui.knowledge.pipeline.state import extract_state
from forge_tui.knowledge.pipeline.train import DEFAULT_CORPUS, SEED
from forge_tui.knowledge.pipeline.train_resolve import _overlap

DEFAULT_OUT = Path(__file__).resolve().parent / revise.WEIGHTS_FILE
L2_GRID = (1e-3, 1e-2, 3e-2)
POWER_GRID = (0.0, 0.5)
THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


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
        wanted = next((d for span, d in self.revisions if _overlap(span, new.spans[0])), None)
        gold = None
        if wanted is not None:
            gold = next((i for i, k in enumerate(active)
                         if any(_overlap(a, b) for a in k.spans for b in self.decisions.get(wanted, ()))), None)
            if gold is None:
                return None  # the decision it revises is not among the active ones: nothing to learn here
        self.rows.extend(revise.pair_rows(new, active))
        self.ys.extend(int(i == gold) for i in range(len(active)))
        return active[gold] if gold is not None else None


def pairs(convs: list[Conversation], classifier: SentenceClassifier) -> tuple[np.ndarray, np.ndarray]:
    rows, ys = [], []
    for conv in convs:
        oracle = Oracle(conv)
        extract_state(conv.dict_turns(), classifier, reviser=oracle)
        rows.extend(oracle.rows)
        ys.extend(oracle.ys)
    if not rows:
        return np.zeros((0, len(revise.FEATURE_NAMES)), np.float32), np.zeros(0, np.int64)
    return np.vstack(rows), np.asarray(ys, dtype=np.int64)


def state_score(convs: list[Conversation], classifier: SentenceClassifier, reviser) -> float:
    """Decisions with the right status, less superseded values presented as current (share of each)."""
    s = Scores()
    for conv in convs:
        score(conv, extract_state(conv.dict_turns(), classifier, reviser=reviser), s)
    right = s.decision_status_right / s.decisions_expected if s.decisions_expected else 0.0
    stale = s.stale_current / s.stale_total if s.stale_total else 0.0
    return right - stale


def train(corpus: Path, log=print) -> revise.Reviser:
    from forge_tui.knowledge.pipeline import shipped_model

    classifier = SentenceClassifier(shipped_model(), None)
    train_convs, dev_convs = load(corpus, ("train",)), load(corpus, ("dev",))
    if not train_convs:
        raise SystemExit(f"no training conversations in {corpus}")
    x_tr, y_tr = pairs(train_convs, classifier)
    x_dv, y_dv = pairs(dev_convs, classifier)
    log(f"pairs: train {len(y_tr)} ({int(y_tr.sum())} positive), dev {len(y_dv)} ({int(y_dv.sum())} positive)")
    best = (-9.0, L2_GRID[0], POWER_GRID[0], 1.0)
    for l2 in L2_GRID:
        for power in POWER_GRID:
            w = fit_pairs(x_tr, y_tr, l2, power, SEED)
            scored = [(round(state_score(dev_convs, classifier, revise.Reviser(w, {"decision": th})), 4), th)
                      for th in THRESHOLDS]
            top, th = max(scored)
            log(f"l2 {l2}, class-weight power {power}: dev state {top:.3f} at threshold {th}")
            if top > best[0]:
                best = (top, l2, power, th)
    top, l2, power, th = best
    log(f"chosen: l2 {l2}, power {power}, threshold {th} (dev state {top:.3f})")
    w = fit_pairs(np.vstack([x_tr, x_dv]), np.concatenate([y_tr, y_dv]), l2, power, SEED)
    digest = hashlib.sha256("\n".join(sorted(c.id for c in train_convs + dev_convs)).encode()).hexdigest()[:12]
    info = (f"seed {SEED}; {len(train_convs)} train + {len(dev_convs)} dev conversations ({digest}); "
            f"{len(y_tr) + len(y_dv)} pairs; l2 {l2}, power {power}; dev state {top:.3f}")
    return revise.Reviser(w, {"decision": th}, info)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    if not args.corpus.is_dir():
        print(f"train_revise: no corpus folder {args.corpus}; pass --corpus DIR", file=sys.stderr)
        return 2
    reviser = train(args.corpus)
    reviser.save(args.out, revise.FEATURE_NAMES)
    print(f"wrote {args.out} ({reviser.info})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
