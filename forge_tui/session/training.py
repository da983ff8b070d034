"""LoRA training from the app: one run at a time on its own thread, reported as events.

The run never shares the chat engine or the session worker (it loads its own copy of the
base weights in transformers), so chat stays live; progress arrives as
``TrainingProgressed`` events and the end as ``TrainingFinished``.
"""

from __future__ import annotations

import math
import threading
from typing import Callable, Protocol

from forge_tui.domain.models import Task
from forge_tui.session import events as ev


class StepLike(Protocol):
    step: int
    total: int
    loss: float
    elapsed_s: float


#: (task, on_status, on_step, cancel) -> a one-line summary of the finished run; raises on failure
TrainFn = Callable[[Task, Callable[[str], None], Callable[[StepLike], None], threading.Event], str]


class TrainingRunner:
    def __init__(self, train: TrainFn, emit: Callable[[ev.Event], None]) -> None:
        self._train = train
        self._emit = emit
        self._thread: threading.Thread | None = None
        self._cancel = threading.Event()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, task: Task) -> bool:
        """Start training ``task``'s adapter; False when a run is already going."""
        if self.running:
            return False
        self._cancel = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(task, self._cancel), name="lora-training",
                                        daemon=True)
        self._thread.start()
        return True

    def stop(self) -> bool:
        """Ask the run to stop after its current step (it saves a checkpoint for --resume)."""
        if not self.running:
            return False
        self._cancel.set()
        return True

    def _run(self, task: Task, cancel: threading.Event) -> None:
        first: list[int] = []

        def on_step(report: StepLike) -> None:
            if not first:
                first.append(report.step - 1)
            done = report.step - first[0]
            eta = (report.total - report.step) * report.elapsed_s / done if done else math.nan
            self._emit(ev.TrainingProgressed(task.value, f"step {report.step}/{report.total}", report.step,
                                             report.total, report.loss, eta))

        try:
            summary = self._train(task, lambda text: self._emit(ev.TrainingProgressed(task.value, text)),
                                  on_step, cancel)
        except Exception as exc:  # every failure is reported to the user, never lost on a thread
            self._emit(ev.TrainingFinished(task.value, str(exc) or type(exc).__name__, ok=False))
            return
        self._emit(ev.TrainingFinished(task.value, summary, ok=True))
