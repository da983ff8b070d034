"""Base model vs adapter on the held-out examples, through the real inference path.

One engine is loaded with only the evaluated adapter; each example is generated twice,
greedily — once with the adapter's task (adapter active) and once with a task that has
no adapter (the bare base) — so both sides share the prompt, sampler and weights.
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from forge_tui.config import LoraSpec, ModelsConfig, ModelSpec, Paths
from forge_tui.domain.models import Task
from forge_tui.engine.base import GenerationRequest, KnowledgeEngine
from forge_tui.store.repository import Store
from forge_tui.training.errors import TrainingError
from forge_tui.training.examples import task_examples
from forge_tui.training.graders import GRADERS, LOWER_IS_BETTER
from forge_tui.training.service import adapter_dir

EngineFactory = Callable[[ModelSpec], KnowledgeEngine]


@dataclass
class EvalResult:
    task: Task
    model: str
    adapter: str
    examples: int
    in_sample: bool = False  # scored on training examples (not a generalisation number)
    base: dict[str, float] = field(default_factory=dict)
    tuned: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"task": self.task.value, "model": self.model, "adapter": self.adapter, "examples": self.examples,
                "split": "train (in-sample)" if self.in_sample else "held-out",
                "base": self.base, "adapter_scores": self.tuned,
                "delta": {k: self.tuned[k] - self.base[k] for k in self.base}}

    def lines(self) -> list[str]:
        split = "training (in-sample)" if self.in_sample else "held-out"
        out = [f"{self.task.value}: {self.examples} {split} example(s), model {self.model}, adapter {self.adapter}",
               f"  {'metric':<18} {'base':>8} {'adapter':>8} {'delta':>8}"]
        for key in self.base:
            delta = self.tuned[key] - self.base[key]
            better = (delta < 0) if key in LOWER_IS_BETTER else (delta > 0)
            mark = " ▲" if better else (" ▼" if delta else "")
            out.append(f"  {key:<18} {self.base[key]:>8.3f} {self.tuned[key]:>8.3f} {delta:>+8.3f}{mark}")
        return out


def resolve_adapter(spec: ModelSpec, task: Task, adapter: str | None, paths: Paths) -> LoraSpec:
    if adapter is None:
        if task not in spec.adapters:
            raise TrainingError(f"no {task.value} adapter is registered for model '{spec.name}'; train one with "
                                f"`forge train lora --task {task.value}` or pass --adapter NAME.")
        return spec.adapters[task]
    as_path = Path(adapter).expanduser()
    candidates = [as_path] if adapter.endswith(".gguf") else [adapter_dir(paths) / f"{adapter}.gguf"]
    candidates += [Path(s.path).expanduser() for s in spec.adapters.values()
                   if Path(s.path).name.removesuffix(".gguf") == adapter]
    for path in candidates:
        if path.is_file():
            return LoraSpec(path=str(path))
    raise TrainingError(f"adapter '{adapter}' not found (looked in {adapter_dir(paths)}); "
                        "give a .gguf path or a name from `forge train lora --out`.")


def _mean(rows: list[dict[str, float]]) -> dict[str, float]:
    keys = list(dict.fromkeys(k for r in rows for k in r))
    return {k: sum(r[k] for r in rows if k in r) / max(1, sum(k in r for r in rows)) for k in keys}


def evaluate_adapter(
    store: Store, models: ModelsConfig, paths: Paths, task: Task, *, make_engine: EngineFactory,
    adapter: str | None = None, base: str | None = None, project: str | None = None, limit: int = 20,
    max_tokens: int = 256, on_status: Callable[[str], None] = lambda _t: None, in_sample: bool = False,
) -> EvalResult:
    """Scores on the held-out split (``in_sample``: on the training split instead, labelled so)."""
    spec = models.get(base)
    lora = resolve_adapter(spec, task, adapter, paths)
    examples = task_examples(store, task, project, min_train=0)
    held_out = (examples.train if in_sample else examples.held_out)[:limit]
    if not held_out:
        raise TrainingError(f"no held-out {task.value} examples yet ({examples.total} in all; about 1 in 5 "
                            "conversations is held out). Add history and evaluate again.")
    # the engine gets only this adapter; any other task runs the bare base model
    base_task = next(t for t in Task if t is not task)
    engine = make_engine(dataclasses.replace(spec, lora=None, adapters={task: lora}))
    grade = GRADERS[task]
    rows: dict[str, list[dict[str, float]]] = {"base": [], "adapter": []}
    name = Path(lora.path).name.removesuffix(".gguf")
    try:
        for i, record in enumerate(held_out, 1):
            *context, answer = record.example["messages"]
            on_status(f"example {i}/{len(held_out)}")
            for side, as_task in (("base", base_task), ("adapter", task)):
                request = GenerationRequest(messages=list(context), max_tokens=max_tokens, temperature=0.0,
                                            task=as_task)
                result = engine.generate(request, lambda _p: None, threading.Event())
                if result.error and result.finish == "error":
                    raise TrainingError(f"generation failed during evaluation: {result.error}")
                if side == "adapter" and result.adapter != name:
                    raise TrainingError(f"the engine did not activate adapter {name} (got {result.adapter}).")
                rows[side].append(grade(answer["content"], result.text))
    finally:
        engine.close()
    return EvalResult(task=task, model=spec.name, adapter=name, examples=len(held_out), in_sample=in_sample,
                      base=_mean(rows["base"]), tuned=_mean(rows["adapter"]))
