"""The peft training loop: deterministic batches, checkpoints, stop and resume.

Batches are a pure function of (seed, step) and dropout is off, so a run stopped at
step k and resumed from its checkpoint (LoRA weights + optimizer state + step) ends with
the same weights as an uninterrupted one. Checkpoints are written atomically.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from forge_tui.training.base_model import IGNORE
from forge_tui.training.errors import TrainingError, TrainingStopped

TARGET_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj")


@dataclass(frozen=True)
class TrainConfig:
    task: str
    base_sha256: str
    rank: int = 8
    alpha: float = 16.0
    steps: int = 60
    learning_rate: float = 2e-4
    batch_size: int = 4
    max_len: int = 256
    seed: int = 0
    checkpoint_every: int = 10
    target_modules: tuple[str, ...] = TARGET_MODULES


@dataclass
class StepReport:
    step: int
    total: int
    loss: float
    tokens: int  # tokens in this step's batch (prompt + answer)
    elapsed_s: float  # since this process started training

    def eta_s(self, first_step: int) -> float:
        done = self.step - first_step
        return (self.total - self.step) * self.elapsed_s / done if done > 0 else math.nan


@dataclass
class TrainOutcome:
    lora: dict[str, tuple[np.ndarray, np.ndarray]]  # hf module -> (A, B)
    steps: int
    first_step: int  # > 0 when resumed
    losses: list[float] = field(default_factory=list)
    tokens: int = 0
    seconds: float = 0.0


def steps_for_epochs(epochs: float, n_examples: int, batch_size: int) -> int:
    return max(1, math.ceil(epochs * n_examples / batch_size))


def batch_indices(step: int, n: int, batch_size: int, seed: int) -> list[int]:
    """The examples of ``step``: each epoch is a fresh permutation seeded by (seed, epoch)."""
    out = []
    for pos in range(step * batch_size, (step + 1) * batch_size):
        epoch, i = divmod(pos, n)
        out.append(int(np.random.default_rng([seed, epoch]).permutation(n)[i]))
    return out


def _collate(encoded: list[tuple[list[int], list[int]]], pad_id: int, device: str):
    import torch

    width = max(len(ids) for ids, _ in encoded)
    ids = torch.full((len(encoded), width), pad_id, dtype=torch.long)
    labels = torch.full((len(encoded), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(encoded), width), dtype=torch.long)
    for row, (x, y) in enumerate(encoded):
        ids[row, : len(x)] = torch.tensor(x)
        labels[row, : len(y)] = torch.tensor(y)
        mask[row, : len(x)] = 1
    return ids.to(device), labels.to(device), mask.to(device)


def lora_weights(peft_model) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """hf module name (``model.layers.0.self_attn.q_proj``) -> (A, B) as float32 arrays."""
    from peft.tuners.lora import LoraLayer

    out = {}
    for name, module in peft_model.base_model.model.named_modules():
        if isinstance(module, LoraLayer) and "default" in module.lora_A:
            a = module.lora_A["default"].weight.detach().float().cpu().numpy()
            b = module.lora_B["default"].weight.detach().float().cpu().numpy()
            out[name] = (a, b)
    return out


def _save_checkpoint(path: Path, peft_model, optimizer, step: int, cfg: TrainConfig, losses: list[float]) -> None:
    import torch
    from peft import get_peft_model_state_dict

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    state = {"lora": get_peft_model_state_dict(peft_model), "optimizer": optimizer.state_dict(),
             "step": step, "config": asdict(cfg), "losses": losses}
    try:
        torch.save(state, tmp)
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise TrainingError(f"cannot write the checkpoint {path}: {exc.strerror or exc} (is the disk full?).") from None


def _load_checkpoint(path: Path, cfg: TrainConfig) -> dict:
    import torch

    if not path.exists():
        raise TrainingError(f"nothing to resume: no checkpoint at {path}. Run the same command without --resume.")
    state = torch.load(path, map_location="cpu", weights_only=False)
    saved = state.get("config", {})
    for key in ("task", "base_sha256", "rank", "alpha", "target_modules", "batch_size", "max_len", "seed"):
        mine, theirs = getattr(cfg, key), saved.get(key)
        if (list(mine) if isinstance(mine, tuple) else mine) != (list(theirs) if isinstance(theirs, tuple) else theirs):
            raise TrainingError(f"the checkpoint at {path} was made with {key}={theirs!r}, this run has {mine!r}; "
                                "resume with the same options, or start over without --resume.")
    return state


def train_lora(
    hf_model,
    encoded: list[tuple[list[int], list[int]]],
    cfg: TrainConfig,
    checkpoint: Path,
    *,
    pad_id: int,
    device: str,
    resume: bool = False,
    on_step: Callable[[StepReport], None] | None = None,
    cancel: threading.Event | None = None,
) -> TrainOutcome:
    """Train a LoRA on ``hf_model`` (left unchanged afterwards: the adapter layers are removed)."""
    import torch
    from peft import LoraConfig, get_peft_model, set_peft_model_state_dict

    if not encoded:
        raise TrainingError("no training examples.")
    torch.manual_seed(cfg.seed)
    config = LoraConfig(r=cfg.rank, lora_alpha=cfg.alpha, target_modules=list(cfg.target_modules),
                        lora_dropout=0.0, bias="none", task_type="CAUSAL_LM")
    peft_model = get_peft_model(hf_model, config)
    try:
        params = [p for p in peft_model.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(params, lr=cfg.learning_rate, weight_decay=0.0)
        step, losses = 0, []
        if resume:
            state = _load_checkpoint(checkpoint, cfg)
            set_peft_model_state_dict(peft_model, state["lora"])
            optimizer.load_state_dict(state["optimizer"])
            step, losses = int(state["step"]), list(state["losses"])
        first, tokens, started = step, 0, time.perf_counter()
        peft_model.train()
        while step < cfg.steps:
            if cancel is not None and cancel.is_set():
                _save_checkpoint(checkpoint, peft_model, optimizer, step, cfg, losses)
                raise TrainingStopped(step, cfg.steps, str(checkpoint))
            batch = [encoded[i] for i in batch_indices(step, len(encoded), cfg.batch_size, cfg.seed)]
            ids, labels, mask = _collate(batch, pad_id, device)
            loss = peft_model(input_ids=ids, attention_mask=mask, labels=labels).loss
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            step += 1
            losses.append(float(loss.detach()))
            tokens += int(mask.sum())
            if step % cfg.checkpoint_every == 0 and step < cfg.steps:
                _save_checkpoint(checkpoint, peft_model, optimizer, step, cfg, losses)
            if on_step is not None:
                on_step(StepReport(step, cfg.steps, losses[-1], int(mask.sum()), time.perf_counter() - started))
        return TrainOutcome(lora=lora_weights(peft_model), steps=step, first_step=first, losses=losses,
                            tokens=tokens, seconds=time.perf_counter() - started)
    finally:
        peft_model.unload()
