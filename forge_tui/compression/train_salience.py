"""Train the statement-salience model on the memory corpus (reproducible: no randomness).

    python -m forge_tui.compression.train_salience [--splits train dev] [--eval dev] [--l2 1.0]

A unit is labelled positive when it contains one of its conversation's ``expected.key_facts``
(case-insensitive). The model is an L2-regularised logistic regression fitted by Newton's method;
the weights go to ``salience_weights.json`` beside this module. ``--eval SPLIT`` reports the
average precision of the ranking on a split not trained on (and writes nothing).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from forge_tui.compression import salience
from forge_tui.knowledge.pipeline import corpus

CORPUS = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "memory_corpus"


def dataset(splits: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Feature rows, labels, and each row's conversation number."""
    rows: list[list[float]] = []
    labels: list[float] = []
    groups: list[int] = []
    for g, conv in enumerate(c for c in corpus.load(CORPUS, splits) if c.id.startswith("c")):
        facts = [f.lower() for f in conv.expected.get("key_facts", [])]
        units = salience.units(conv.turns)
        later = salience.last_turns(units)
        for u in units:
            rows.append(salience.features(u, len(conv.turns), later))
            labels.append(float(any(f in u.text.lower() for f in facts)))
            groups.append(g)
    return np.array(rows), np.array(labels), groups


def fit(x: np.ndarray, y: np.ndarray, l2: float, steps: int = 30) -> np.ndarray:
    w = np.zeros(x.shape[1])
    reg = np.full(x.shape[1], l2)
    reg[0] = 1e-6  # the bias is not shrunk
    for _ in range(steps):
        p = 1 / (1 + np.exp(-np.clip(x @ w, -30, 30)))
        grad = x.T @ (p - y) + reg * w
        hess = (x * (p * (1 - p))[:, None]).T @ x + np.diag(reg)
        w -= np.linalg.solve(hess, grad)
    return w


def average_precision(scores: np.ndarray, y: np.ndarray) -> float:
    order = np.argsort(-scores)
    hits = y[order]
    precision = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    return float((precision * hits).sum() / max(1, hits.sum()))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--splits", nargs="+", default=["train", "dev"])
    ap.add_argument("--eval", default=None, help="a split to evaluate on (nothing is written)")
    ap.add_argument("--l2", type=float, default=1.0)
    args = ap.parse_args(argv)
    x, y, _ = dataset(tuple(args.splits))
    w = fit(x, y, args.l2)
    print(f"trained on {'+'.join(args.splits)}: {len(y)} units, {int(y.sum())} positive")
    if args.eval:
        xe, ye, _ = dataset((args.eval,))
        print(f"average precision on {args.eval}: {average_precision(xe @ w, ye):.3f} "
              f"(base rate {ye.mean():.3f}; in-sample {average_precision(x @ w, y):.3f})")
        return 0
    salience.WEIGHTS.write_text(json.dumps({
        "features": list(salience.FEATURES), "weights": [round(float(v), 5) for v in w],
        "trained_on": sorted(args.splits), "l2": args.l2, "units": len(y),
    }, indent=1) + "\n")
    print(f"wrote {salience.WEIGHTS}")
    for name, v in sorted(zip(salience.FEATURES, w), key=lambda t: -abs(t[1]))[:12]:
        print(f"  {name:>16} {v:+.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
