"""What the two linker trainers (``train_resolve``, ``train_revise``) share: the span overlap
their oracles match labels by, the grid search on dev, the provenance line and the command line.

Each trainer supplies its pairs and a dev evaluation; the search fits weights on train for every
regularisation and class-weight setting, keeps the setting (and the thresholds its evaluation
chose) that scores best on dev, and refits on train+dev. The test split is never read.
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
from forge_tui.knowledge.pipeline.train import DEFAULT_CORPUS, SEED

L2_GRID = (1e-3, 1e-2, 3e-2)
POWER_GRID = (0.0, 0.5)
THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)

Span = tuple[int, int, int]  # (turn, start, end)
#: a dev evaluation of train-fitted weights: (score, the thresholds it chose)
Evaluate = Callable[[np.ndarray], tuple[float, dict[str, float]]]


def overlap(a: Span, b: Span) -> bool:
    return a[0] == b[0] and a[1] < b[2] and b[1] < a[2]


def collect(convs: list[Conversation], run: Callable[[Conversation], Any], width: int) -> tuple[np.ndarray, np.ndarray]:
    """The training pairs of ``convs``: ``run(conv)`` sends one conversation through the pipeline
    with an oracle and returns it (its ``rows`` and ``ys`` hold the pairs it was shown); ``width``
    is the feature count, for an empty result."""
    rows: list[np.ndarray] = []
    ys: list[int] = []
    for conv in convs:
        oracle = run(conv)
        rows.extend(oracle.rows)
        ys.extend(oracle.ys)
    if not rows:
        return np.zeros((0, width), np.float32), np.zeros(0, np.int64)
    return np.vstack(rows), np.asarray(ys, dtype=np.int64)


def search(train: tuple[np.ndarray, np.ndarray], dev: tuple[np.ndarray, np.ndarray], evaluate: Evaluate,
           what: str, log: Callable[[str], Any] = print) -> tuple[np.ndarray, dict[str, float], str]:
    """The weights refitted on train+dev with the best setting on dev, its thresholds, and a
    summary (``l2 …, power …; dev <what> …``)."""
    (x_tr, y_tr), (x_dv, y_dv) = train, dev
    log(f"pairs: train {len(y_tr)} ({int(y_tr.sum())} positive), dev {len(y_dv)} ({int(y_dv.sum())} positive)")
    best: tuple[float, float, float, dict[str, float]] | None = None
    for l2 in L2_GRID:
        for power in POWER_GRID:
            top, thresholds = evaluate(fit_pairs(x_tr, y_tr, l2, power, SEED))
            log(f"l2 {l2}, class-weight power {power}: dev {what} {top:.3f} at {thresholds}")
            if best is None or top > best[0]:
                best = (top, l2, power, thresholds)
    assert best is not None
    top, l2, power, thresholds = best
    log(f"chosen: l2 {l2}, power {power}, thresholds {thresholds} (dev {what} {top:.3f})")
    weights = fit_pairs(np.vstack([x_tr, x_dv]), np.concatenate([y_tr, y_dv]), l2, power, SEED)
    return weights, thresholds, f"{len(y_tr) + len(y_dv)} pairs; l2 {l2}, power {power}; dev {what} {top:.3f}"


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
