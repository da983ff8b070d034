"""Errors of the training feature, each with the fix in its message."""

from __future__ import annotations

import importlib.util

INSTALL_HINT = (
    "LoRA training needs the optional [train] extra (peft, gguf, accelerate): "
    "run `pip install 'forge-tui[train]'` (or `.venv/bin/pip install -e '.[train]'` in a clone; "
    "./scripts/run installs it)."
)


class TrainingError(Exception):
    """A training run that cannot start or finish; the message says why and what to do."""


class TrainingStopped(Exception):
    """The run was stopped (Ctrl+C, or cancelled from the app) after saving a checkpoint."""

    def __init__(self, step: int, total: int, checkpoint: str):
        super().__init__(f"stopped at step {step}/{total}; checkpoint {checkpoint}")
        self.step, self.total, self.checkpoint = step, total, checkpoint


def require_train_stack() -> None:
    """Raise ``TrainingError`` naming the install command when a training package is missing."""
    missing = [name for name in ("torch", "transformers", "peft", "gguf") if importlib.util.find_spec(name) is None]
    if missing:
        raise TrainingError(f"missing {', '.join(missing)}. {INSTALL_HINT}")
