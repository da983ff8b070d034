"""The learned sentence classifier: multinomial logistic regression in numpy.

Two weight sets ship in ``sentence_model.npz`` (trained by ``python -m
forge_tui.knowledge.pipeline.train``): ``full`` reads the sentence embedding
(MiniLM, 384 floats) plus the cue features, ``cues`` reads the cue features
alone and is what runs while the embedder is still loading or when it cannot
load. Both are trained on the same corpus split with a fixed seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

LABELS = ("other", "decision", "question", "resolution", "constraint", "request")
MODEL_FILE = "sentence_model.npz"
EMBED_SCALE = 1.0  # embeddings are unit vectors; larger scales overfit the small corpus (measured on dev)


class ModelFileError(Exception):
    """The shipped weights are missing or do not fit this code; retrain them."""


@dataclass
class LinearModel:
    """``softmax(X @ W)``; ``W`` is (features, classes)."""

    weights: np.ndarray
    labels: tuple[str, ...] = LABELS

    def proba(self, x: np.ndarray) -> np.ndarray:
        z = x @ self.weights
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)


def fit(x: np.ndarray, y: np.ndarray, n_classes: int, *, l2: float = 1e-3, epochs: int = 400, lr: float = 0.05,
        class_weight: np.ndarray | None = None, seed: int = 0) -> LinearModel:
    """Full-batch Adam on the weighted cross-entropy; deterministic for a given seed."""
    rng = np.random.default_rng(seed)
    w = rng.normal(0.0, 0.01, size=(x.shape[1], n_classes)).astype(np.float64)
    onehot = np.eye(n_classes)[y]
    sw = (class_weight[y] if class_weight is not None else np.ones(len(y)))[:, None]
    sw = sw / sw.sum()
    m = np.zeros_like(w)
    v = np.zeros_like(w)
    xd = x.astype(np.float64)
    for step in range(1, epochs + 1):
        z = xd @ w
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        grad = xd.T @ ((p - onehot) * sw) + l2 * w
        m = 0.9 * m + 0.1 * grad
        v = 0.999 * v + 0.001 * grad * grad
        w -= lr * (m / (1 - 0.9**step)) / (np.sqrt(v / (1 - 0.999**step)) + 1e-8)
    return LinearModel(w.astype(np.float32))


@dataclass
class SentenceModel:
    full: LinearModel | None
    cues: LinearModel
    feature_names: tuple[str, ...]
    embed_dim: int
    info: str = ""
    #: per label, the user's then the assistant's: below it, the label is not given
    thresholds: tuple[float, ...] = (0.0,) * (2 * len(LABELS))
    #: the same for the ``full`` weights (their probabilities differ); empty: ``thresholds``
    full_thresholds: tuple[float, ...] = ()
    #: the cue weights' regularisation and class-weight power (what a held-out refit reuses)
    l2: float = 3e-3
    power: float = 0.5

    def role_thresholds(self, role: str, path: str = "cues") -> tuple[float, ...]:
        n = len(LABELS)
        chosen = self.full_thresholds if path == "full" and len(self.full_thresholds) == 2 * n else self.thresholds
        return chosen[n:] if role == "assistant" and len(chosen) == 2 * n else chosen[:n]

    def save(self, path: Path) -> None:
        arrays = {"cues": self.cues.weights, "labels": np.array(self.cues.labels),
                  "feature_names": np.array(self.feature_names), "embed_dim": np.array(self.embed_dim),
                  "info": np.array(self.info), "thresholds": np.array(self.thresholds, dtype=np.float32),
                  "full_thresholds": np.array(self.full_thresholds, dtype=np.float32),
                  "fit": np.array([self.l2, self.power], dtype=np.float64)}
        if self.full is not None:
            arrays["full"] = self.full.weights
        np.savez_compressed(path, **arrays)

    @classmethod
    def load(cls, path: Path | None = None) -> "SentenceModel":
        try:
            if path is None:
                with resources.files(__package__).joinpath(MODEL_FILE).open("rb") as fh:
                    data = dict(np.load(fh, allow_pickle=False))
            else:
                data = dict(np.load(path, allow_pickle=False))
        except (OSError, ValueError) as exc:
            raise ModelFileError(
                f"the extraction model {path or MODEL_FILE} cannot be read ({exc}); "
                "retrain it with `python -m forge_tui.knowledge.pipeline.train`"
            ) from None
        labels = tuple(str(s) for s in data["labels"])
        names = tuple(str(s) for s in data["feature_names"])
        from forge_tui.knowledge.pipeline.cues import FEATURE_NAMES

        if names != FEATURE_NAMES:
            raise ModelFileError("the extraction model was trained on other cue features; retrain it "
                                 "with `python -m forge_tui.knowledge.pipeline.train`")
        if labels != LABELS:
            raise ModelFileError(f"the extraction model has labels {labels}, expected {LABELS}; retrain it")
        full = LinearModel(data["full"], labels) if "full" in data else None
        thresholds = tuple(float(x) for x in data["thresholds"]) if "thresholds" in data else (0.0,) * (2 * len(LABELS))
        full_thresholds = tuple(float(x) for x in data["full_thresholds"]) if "full_thresholds" in data else ()
        l2, power = (float(x) for x in data["fit"]) if "fit" in data else (3e-3, 0.5)
        return cls(full, LinearModel(data["cues"], labels), tuple(str(s) for s in data["feature_names"]),
                   int(data["embed_dim"]), str(data.get("info", "")), thresholds, full_thresholds, l2, power)


def design(cue_rows: np.ndarray, embeddings: np.ndarray | None) -> np.ndarray:
    """The ``full`` model's input: scaled embeddings next to the cue features."""
    if embeddings is None:
        return cue_rows
    return np.hstack([embeddings.astype(np.float32) * EMBED_SCALE, cue_rows])
