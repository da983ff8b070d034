"""Routing by task: try a task's chain of models in order, escalating on failure.

``[routing]`` in models.toml maps a task (chat, compress, decide, extract,
continue) to a chain such as ``["rules", "smollm2", "gemma3-270m", "claude"]``.
Tier 1, ``rules``, is the rule-based path: no model, taken when the caller has
one and it answers. Then each model in turn; the router moves on when

* the answer is rejected (the caller's validator raised one of ``escalate_on``),
* the backend is down, timed out or refused (``EngineError``, or a caller error
  raised from a ``backend_failed`` result),
* the input does not fit the model's context (the same: the caller raises),

and skips cloud engines for a project whose text must stay local
(``Settings.cloud_allowed``). Every attempt is recorded, and the winner's
model and engine kind travel with the value so the caller can store them on
the turn or archive it produced. A cancel stops the chain at once.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Callable, Generic, TypeVar

from forge_tui.config import RULES, ModelsConfig
from forge_tui.engine.base import EngineError, KnowledgeEngine
from forge_tui.knowledge.decide import DecideError, Decider, DecideOptions, decide

T = TypeVar("T")


@dataclass(frozen=True)
class Attempt:
    model: str
    outcome: str  # answered | rejected | skipped | no-answer
    reason: str = ""
    elapsed_s: float = 0.0


@dataclass
class Routed(Generic[T]):
    value: T
    model: str  # "rules" for tier 1
    engine: str  # the engine kind ("rules" for tier 1)
    attempts: list[Attempt] = field(default_factory=list)


class RoutingExhausted(Exception):
    """Every tier of the chain failed; ``attempts`` says why each one did."""

    def __init__(self, task: str, attempts: list[Attempt]):
        if len(attempts) == 1:  # no chain to speak of: the one model's own message names the fix
            message = attempts[0].reason
        else:
            reasons = "; ".join(f"{a.model}: {a.reason}" for a in attempts) or "the chain is empty"
            message = f"no model could do '{task}' ({reasons}). Check the models in [routing].{task}."
        super().__init__(message)
        self.attempts = attempts


class Router:
    """Runs tasks along their chains. ``engine_for(name)`` returns a (loading or loaded) engine;
    the root passes one that reuses the controller's engine for the model already in use."""

    def __init__(self, models: ModelsConfig, engine_for: Callable[[str], KnowledgeEngine],
                 cloud_allowed: Callable[[str], bool]):
        self.models = models
        self._engine_for = engine_for
        self._cloud_allowed = cloud_allowed

    def routes(self, task: str) -> bool:
        """Whether ``[routing]`` has a chain for ``task`` (else callers use the model of the moment)."""
        return task in self.models.routing

    def run(self, task: str, project: str, attempt: Callable[[KnowledgeEngine], T], *,
            escalate_on: tuple[type[Exception], ...] = (), rules: Callable[[], T | None] | None = None,
            current: str | None = None, cancel: threading.Event | None = None) -> Routed[T]:
        import time

        cancel = cancel or threading.Event()
        escalating: tuple[type[Exception], ...] = (EngineError, *escalate_on)
        attempts: list[Attempt] = []
        for name in self.models.chain(task, current):
            if cancel.is_set():
                break
            started = time.perf_counter()
            if name == RULES:
                value = rules() if rules is not None else None
                if value is not None:
                    attempts.append(Attempt(RULES, "answered", elapsed_s=time.perf_counter() - started))
                    return Routed(value, RULES, RULES, attempts)
                attempts.append(Attempt(RULES, "no-answer", "the rule-based path had no answer"))
                continue
            spec = self.models.get(name)
            if spec.is_cloud and not self._cloud_allowed(project):
                attempts.append(Attempt(name, "skipped", f"project '{project}' keeps its text off cloud engines"))
                continue
            try:
                engine = self._engine_for(name)
                engine.wait_ready()
                value = attempt(engine)
            except escalating as exc:
                if cancel.is_set():
                    raise
                attempts.append(Attempt(name, "rejected", str(exc)[:300], time.perf_counter() - started))
                continue
            attempts.append(Attempt(name, "answered", elapsed_s=time.perf_counter() - started))
            return Routed(value, name, engine.kind, attempts)
        raise RoutingExhausted(task, attempts)


class EnginePool:
    """The engines a router uses: the caller's engine of the moment for the model already in use
    (no second copy of a loaded model), any other model built once, on first need."""

    def __init__(self, build: Callable[[str], KnowledgeEngine],
                 current: Callable[[], tuple[str, KnowledgeEngine | None]]):
        self._build = build
        self._current = current
        self._built: dict[str, KnowledgeEngine] = {}
        self._lock = threading.Lock()

    def __call__(self, name: str) -> KnowledgeEngine:
        current_name, engine = self._current()
        if name == current_name:
            if engine is None:  # never a second copy of the model being loaded
                raise EngineError(f"Model '{name}' is not loaded yet.")
            return engine
        with self._lock:
            if name not in self._built:
                self._built[name] = self._build(name)
                self._built[name].start_loading()
            return self._built[name]

    def close(self) -> None:
        with self._lock:
            engines, self._built = list(self._built.values()), {}
        for engine in engines:
            engine.close()


def routed_decider(router: Router, current: Callable[[], str], task: str = "decide") -> Decider:
    """decide() along ``[routing].<task>`` — ``extract`` for the knowledge extractor, falling back to
    ``decide`` when that has no chain — (the model of the moment without either, cloud rules applied
    either way); exhausting the chain is a ``DecideError``, so the caller keeps its draft."""

    def decide_for(project: str, context: str, options: DecideOptions, cancel: threading.Event) -> dict:
        chain = task if router.routes(task) else "decide"
        try:
            return router.run(chain, project, lambda engine: decide(engine, context, options, cancel),
                              escalate_on=(DecideError,), current=current(), cancel=cancel).value
        except RoutingExhausted as exc:
            raise DecideError(str(exc)) from None

    return decide_for
