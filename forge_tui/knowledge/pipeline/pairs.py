"""A logistic scorer over pair features, kept as a small readable JSON file.

What the learned linkers share: ``resolve.py`` (which question a sentence settles)
and ``revise.py`` (which decision a new one replaces) each describe a pair
(new item, earlier candidate) by a feature vector; this scores the pairs, holds
the per-kind thresholds chosen held out over train+dev, and reads and writes the weights.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from forge_tui.knowledge.pipeline.model import ModelFileError, fit


@dataclass
class PairModel:
    """``sigmoid(x @ weights)`` per pair; ``thresholds`` per kind of new item."""

    weights: np.ndarray
    thresholds: dict[str, float]
    info: str = ""

    def proba(self, rows: np.ndarray) -> np.ndarray:
        if not len(rows):
            return np.zeros(0, dtype=np.float32)
        z = rows @ self.weights
        return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))

    def save(self, path: Path, features: tuple[str, ...]) -> None:
        data = {"features": list(features), "weights": [round(float(w), 6) for w in self.weights],
                "thresholds": self.thresholds, "info": self.info}
        path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")

    @staticmethod
    def read(name: str, features: tuple[str, ...], trainer: str, path: Path | None = None) -> dict:
        """The weights file ``name`` (shipped in this package, or ``path``): weights, thresholds, info."""
        try:
            raw = (path.read_text(encoding="utf-8") if path is not None
                   else resources.files(__package__).joinpath(name).read_text(encoding="utf-8"))
            data = json.loads(raw)
        except (OSError, ValueError) as exc:
            raise ModelFileError(f"the linker weights {path or name} cannot be read ({exc}); retrain them "
                                 f"with `python -m {trainer}`") from None
        if tuple(data.get("features", ())) != features:
            raise ModelFileError(f"the linker weights {path or name} were trained on other features; retrain them "
                                 f"with `python -m {trainer}`")
        return {"weights": np.asarray(data["weights"], dtype=np.float32),
                "thresholds": {k: float(v) for k, v in data["thresholds"].items()}, "info": str(data.get("info", ""))}


def fit_pairs(x: np.ndarray, y: np.ndarray, l2: float, power: float, seed: int) -> np.ndarray:
    """Logistic weights for 0/1 pair labels (positives weighted by ``(n / n_pos) ** power``)."""
    counts = np.bincount(y, minlength=2).astype(np.float64)
    weights = np.where(counts > 0, (counts.sum() / np.maximum(counts, 1)) ** power, 0.0)
    model = fit(x, y, 2, l2=l2, class_weight=weights, seed=seed)
    return (model.weights[:, 1] - model.weights[:, 0]).astype(np.float32)  # the two-class softmax as one logistic
