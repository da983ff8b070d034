"""One training run end to end: examples -> split -> peft -> GGUF adapter -> models.toml.

Order matters for "nothing half-done": the adapter is written to a temp file and renamed,
and only then registered; a stopped or failed run leaves a checkpoint (for ``--resume``)
and no registration.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from forge_tui.config import ModelsConfig, Paths
from forge_tui.domain.models import Task
from forge_tui.store.repository import Store
from forge_tui.training.adapter_gguf import write_adapter
from forge_tui.training.base_model import Base, load_hf_model, open_base, pick_device
from forge_tui.training.errors import TrainingError, require_train_stack
from forge_tui.training.examples import task_examples
from forge_tui.training.registry import register_adapter
from forge_tui.training.trainer import StepReport, TrainConfig, steps_for_epochs, train_lora

#: loads the transformers model for a base; tests pass one that reuses a loaded model
ModelLoader = Callable[[Base, str], object]


@dataclass
class TrainOptions:
    task: Task
    base: str | None = None  # model name in models.toml (default: the default model)
    project: str | None = None
    steps: int | None = None
    epochs: float | None = None  # used when steps is None
    rank: int = 8
    alpha: float | None = None  # default 2 × rank
    learning_rate: float = 2e-4
    batch_size: int = 4
    max_len: int = 256
    out: str | None = None  # adapter name (default MODEL-TASK)
    resume: bool = False
    scale: float = 1.0
    min_examples: int = 4
    checkpoint_every: int = 10
    seed: int = 0


@dataclass
class TrainReport:
    name: str
    model: str
    task: Task
    adapter_path: Path
    adapter_bytes: int
    registered_in: Path
    train_examples: int
    held_out_examples: int
    steps: int
    resumed_from: int
    tokens: int
    seconds: float
    losses: list[float] = field(default_factory=list)

    @property
    def seconds_per_step(self) -> float:
        done = self.steps - self.resumed_from
        return self.seconds / done if done else 0.0


def adapter_dir(paths: Paths) -> Path:
    return paths.data_dir / "adapters"


def checkpoint_path(paths: Paths, name: str) -> Path:
    return paths.data_dir / "training" / name / "checkpoint.pt"


def train_adapter(
    store: Store,
    models: ModelsConfig,
    paths: Paths,
    options: TrainOptions,
    *,
    on_status: Callable[[str], None] = lambda _text: None,
    on_step: Callable[[StepReport], None] | None = None,
    cancel: threading.Event | None = None,
    load_model: ModelLoader | None = None,
) -> TrainReport:
    require_train_stack()
    spec = models.get(options.base)
    name = options.out or f"{spec.name}-{options.task.value}"
    if not name.replace("-", "").replace("_", "").replace(".", "").isalnum():
        raise TrainingError(f"--out '{name}' must be letters, digits, '-', '_' or '.'.")
    examples = task_examples(store, options.task, options.project, options.min_examples)
    on_status(f"{len(examples.train)} training / {len(examples.held_out)} held-out {options.task.value} examples")
    base = open_base(spec, paths.cache_dir, paths.models_file().parent)
    try:
        encoded = [base.encode(r.example["messages"], options.max_len) for r in examples.train]
        steps = options.steps or steps_for_epochs(options.epochs or 3.0, len(encoded), options.batch_size)
        cfg = TrainConfig(
            task=options.task.value, base_sha256=base.info.sha256, rank=options.rank,
            alpha=options.alpha if options.alpha is not None else 2.0 * options.rank, steps=steps,
            learning_rate=options.learning_rate, batch_size=options.batch_size, max_len=options.max_len,
            seed=options.seed, checkpoint_every=options.checkpoint_every,
        )
        device = pick_device()
        on_status(f"loading {spec.name} into transformers on {device} (dequantising the GGUF)…")
        hf_model = (load_model or load_hf_model)(base, device)
        checkpoint = checkpoint_path(paths, name)
        on_status(f"training {steps} step(s), rank {cfg.rank}, on {device}")
        outcome = train_lora(hf_model, encoded, cfg, checkpoint, pad_id=max(base.vocab.token_eos(), 0),
                             device=device, resume=options.resume, on_step=on_step, cancel=cancel)
        path = adapter_dir(paths) / f"{name}.gguf"
        size = write_adapter(path, base.info, outcome.lora, cfg.alpha, {
            "task": options.task.value, "base_model": spec.name, "rank": cfg.rank, "steps": outcome.steps,
            "train_examples": len(encoded), "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        })
    finally:
        base.close()
    registered = register_adapter(paths.models_file(), paths.config_dir, spec.name, options.task, path, options.scale)
    checkpoint.unlink(missing_ok=True)
    return TrainReport(
        name=name, model=spec.name, task=options.task, adapter_path=path, adapter_bytes=size,
        registered_in=registered, train_examples=len(encoded), held_out_examples=len(examples.held_out),
        steps=outcome.steps, resumed_from=outcome.first_step, tokens=outcome.tokens, seconds=outcome.seconds,
        losses=outcome.losses,
    )
