"""What the two linker trainers (``train_resolve``, ``train_revise``) share: the span overlap
their oracles match labels by, the cross-fitted grid search, the provenance line and the command line.

Each trainer supplies each conversation's pairs and an evaluation; for every regularisation and
class-weight setting the search fits weights once per fold of train+dev (sorted by id, every
``HELD_OUT_FOLDS``-th, as ``train.held_out_classifiers`` folds them) on the other folds, runs every
conversation with the weights that never saw it, keeps the setting (and the thresholds its
evaluation chose) that scores best over all of them, and refits on train+dev. Choosing on dev
alone (15 conversations, 9 positive pairs) left four of six settings tied and the choice to
chance. The test split is never read.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path
from typing import Any, Callable

import numpy as np

from forge_tui.knowledge.pipeline.corpus import Conversation
from forge_tui.knowledge.pipeline.pairs import PairModel, fit_pairs
from forge_tui.knowledge.pipeline.train import DEFAULT_CORPUS, HELD_OUT_FOLDS, SEED

L2_GRID = (1e-3, 1e-2, 3e-2)
POWER_GRID = (0.0, 0.5)
THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)

Span = tuple[int, int, int]  # (turn, start, end)
Pairs = tuple[np.ndarray, np.ndarray]  # feature rows, 0/1 labels
#: an evaluation of held-out weights (each conversation's id -> weights fitted without it):
#: (score, the thresholds it chose)
Evaluate = Callable[[Callable[[str], np.ndarray]], tuple[float, dict[str, float]]]


def overlap(a: Span, b: Span) -> bool:
    return a[0] == b[0] and a[1] < b[2] and b[1] < a[2]


def collect(convs: list[Conversation], run: Callable[[Conversation], Any], width: int) -> dict[str, Pairs]:
    """Each conversation's training pairs: ``run(conv)`` sends one conversation through the pipeline
    with an oracle and returns it (its ``rows`` and ``ys`` hold the pairs it was shown); ``width``
    is the feature count, for a conversation without pairs."""
    out: dict[str, Pairs] = {}
    for conv in convs:
        oracle = run(conv)
        out[conv.id] = ((np.vstack(oracle.rows).astype(np.float32), np.asarray(oracle.ys, dtype=np.int64))
                        if oracle.rows else (np.zeros((0, width), np.float32), np.zeros(0, np.int64)))
    return out


def _stack(pairs: dict[str, Pairs], ids: list[str]) -> Pairs:
    return np.vstack([pairs[i][0] for i in ids]), np.concatenate([pairs[i][1] for i in ids])


def held_out_weights(pairs: dict[str, Pairs], l2: float, power: float) -> Callable[[str], np.ndarray]:
    """Each conversation's id -> weights fitted on the other folds' pairs (sorted by id, every
    ``HELD_OUT_FOLDS``-th, as ``train.held_out_classifiers`` folds them; one conversation: all pairs)."""
    ordered = sorted(pairs)
    k = min(HELD_OUT_FOLDS, len(ordered))
    fold_of = {cid: i % k for i, cid in enumerate(ordered)}
    if k < 2:
        everything = fit_pairs(*_stack(pairs, ordered), l2, power, SEED)
        return lambda cid: everything
    held = {f: fit_pairs(*_stack(pairs, [c for c in ordered if fold_of[c] != f]), l2, power, SEED) for f in range(k)}
    return lambda cid: held[fold_of[cid]]


def search(pairs: dict[str, Pairs], evaluate: Evaluate, what: str,
           log: Callable[[str], Any] = print) -> tuple[np.ndarray, dict[str, float], str]:
    """The weights refitted on all of ``pairs`` with the setting that scores best held out, its
    thresholds, and a summary (``l2 …, power …; held-out <what> …``)."""
    x_all, y_all = _stack(pairs, sorted(pairs))
    log(f"pairs: {len(y_all)} ({int(y_all.sum())} positive) from {len(pairs)} conversations, "
        f"{min(HELD_OUT_FOLDS, len(pairs))} folds")
    best: tuple[float, float, float, dict[str, float]] | None = None
    for l2 in L2_GRID:
        for power in POWER_GRID:
            top, thresholds = evaluate(held_out_weights(pairs, l2, power))
            log(f"l2 {l2}, class-weight power {power}: held-out {what} {top:.3f} at {thresholds}")
            if best is None or top > best[0]:
                best = (top, l2, power, thresholds)
    assert best is not None
    top, l2, power, thresholds = best
    log(f"chosen: l2 {l2}, power {power}, thresholds {thresholds} (held-out {what} {top:.3f})")
    weights = fit_pairs(x_all, y_all, l2, power, SEED)
    return weights, thresholds, f"{len(y_all)} pairs; l2 {l2}, power {power}; held-out {what} {top:.3f}"


def provenance(train_convs: list[Conversation], dev_convs: list[Conversation], summary: str) -> str:
    """What a weights file was trained on, in one line (seed, conversations and their digest)."""
    digest = hashlib.sha256("\n".join(sorted(c.id for c in train_convs + dev_convs)).encode()).hexdigest()[:12]
    return f"seed {SEED}; {len(train_convs)} train + {len(dev_convs)} dev conversations ({digest}); {summary}"


def main(name: str, train: Callable[[Path], PairModel], features: tuple[str, ...], default_out: Path,
         argv: list[str] | None = None) -> int:
    """``python -m …<name> [--corpus DIR] [--out PATH]``: train and write the weights file."""
    parser = argparse.ArgumentParser(prog=name, description=f"Train the {name} linker weights.")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--out", type=Path, default=default_out)
    args = parser.parse_args(argv)
    if not args.corpus.is_dir():
        print(f"{name}: no corpus folder {args.corpus}; pass --corpus DIR", file=sys.stderr)
        return 2
    model = train(args.corpus)
    model.save(args.out, features)
    print(f"wrote {args.out} ({model.info})")
    return 0
