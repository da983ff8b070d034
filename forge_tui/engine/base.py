"""The KnowledgeEngine interface: everything the rest of Forge may ask of a model.

Every engine (llama.cpp in-process, an OpenAI-compatible server, Anthropic)
implements all of it; callers never probe with ``hasattr``/``getattr``.

* **Loading** is asynchronous: ``start_loading()`` returns a future (idempotent),
  ``ready`` says whether it succeeded, ``load_seconds`` how long it took,
  ``wait_ready()`` blocks (and re-raises the load error, an ``EngineError``).
* **Counting**: ``count_tokens(messages)`` counts a whole chat prompt as the
  engine would send it; ``count_text_tokens(text)`` counts bare text.
* **Generation** streams pieces to ``on_piece`` and honours ``cancel`` (a
  ``threading.Event`` checked between tokens and, where the backend allows,
  during prompt processing). A request may constrain the answer with a GBNF
  ``grammar`` *or* a JSON ``json_schema`` (not both); an engine that cannot
  honour the constraint says so with ``finish="error"``, never ignores it.
* **Embedding** returns one float vector per text.
* The **knowledge operations** — ``compression.service.compress`` (archives),
  ``compression.service.continue_from`` and ``knowledge.decide.decide``
  (grammar-constrained structured answers) — are functions written once over
  this interface, so every engine gets them without special cases.

Implementations must be safe to call from one worker thread at a time (the
session worker); they never touch the UI.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Protocol, Sequence

from forge_tui.domain.models import Task

#: one chat message: {"role": "user"|"assistant"|"system", "content": str}
Message = dict[str, str]

#: why a generation ended
Finish = Literal["stop", "cancelled", "length", "context", "error"]


class EngineError(Exception):
    """A model that cannot be loaded or run; the message names the fix."""


@dataclass
class GenerationResult:
    text: str
    tokens: int
    prompt_tokens: int
    finish: Finish
    elapsed_s: float = 0.0
    error: str | None = None
    #: the backend was unreachable, timed out or refused before answering: another model may succeed
    backend_failed: bool = False
    #: prompt-cache use reported by the server (Anthropic): tokens read from / written to the cache
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    adapter: str | None = None  # name of the LoRA adapter that was active, None for the base model


@dataclass
class GenerationRequest:
    messages: list[Message]
    max_tokens: int = 512
    temperature: float = 0.7
    grammar: str | None = None  # GBNF text, validated by the engine before use
    json_schema: dict[str, Any] | None = None  # a JSON Schema the answer must satisfy
    stop: list[str] = field(default_factory=list)
    task: Task = Task.CHAT  # engines with per-task adapters activate the one for this task

    def __post_init__(self) -> None:
        if self.grammar is not None and self.json_schema is not None:
            raise ValueError("A GenerationRequest takes a grammar or a json_schema, not both.")


OnPiece = Callable[[str], None]

#: the output constraint an engine takes natively
Structured = Literal["grammar", "json_schema"]


class KnowledgeEngine(Protocol):
    """What every model backend provides (see the module docstring)."""

    @property
    def model_name(self) -> str: ...

    @property
    def kind(self) -> str: ...

    @property
    def structured(self) -> Structured: ...

    @property
    def n_ctx(self) -> int: ...

    # -- loading -------------------------------------------------------------
    def start_loading(self) -> Future[None]: ...

    def wait_ready(self, timeout: float | None = None) -> None: ...

    @property
    def ready(self) -> bool: ...

    @property
    def load_seconds(self) -> float | None: ...

    # -- counting ------------------------------------------------------------
    def count_tokens(self, messages: Sequence[Message]) -> int: ...

    def count_text_tokens(self, text: str) -> int: ...

    # -- generation and embedding -------------------------------------------
    def generate(
        self, request: GenerationRequest, on_piece: OnPiece, cancel: threading.Event
    ) -> GenerationResult: ...

    def embed(self, texts: Sequence[str]) -> list[list[float]]: ...

    def close(self) -> None: ...


class CurrentEngine:
    """The engine of the moment, for services that outlive a model switch
    (background extraction): every call goes to whatever ``get()`` returns now.
    Raises ``EngineError`` when no model is loaded."""

    def __init__(self, get: Callable[[], KnowledgeEngine | None]) -> None:
        self._get = get

    def _engine(self) -> KnowledgeEngine:
        engine = self._get()
        if engine is None:
            raise EngineError("No model is loaded. Pick one with ctrl+m.")
        return engine

    @property
    def model_name(self) -> str:
        return self._engine().model_name

    @property
    def kind(self) -> str:
        return self._engine().kind

    @property
    def structured(self) -> Structured:
        return self._engine().structured

    @property
    def n_ctx(self) -> int:
        return self._engine().n_ctx

    def start_loading(self) -> Future[None]:
        return self._engine().start_loading()

    def wait_ready(self, timeout: float | None = None) -> None:
        self._engine().wait_ready(timeout)

    @property
    def ready(self) -> bool:
        engine = self._get()
        return engine is not None and engine.ready

    @property
    def load_seconds(self) -> float | None:
        engine = self._get()
        return None if engine is None else engine.load_seconds

    def count_tokens(self, messages: Sequence[Message]) -> int:
        return self._engine().count_tokens(messages)

    def count_text_tokens(self, text: str) -> int:
        return self._engine().count_text_tokens(text)

    def generate(self, request: GenerationRequest, on_piece: OnPiece, cancel: threading.Event) -> GenerationResult:
        return self._engine().generate(request, on_piece, cancel)

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        return self._engine().embed(texts)

    def close(self) -> None:
        """The current engine belongs to its owner (the controller): nothing to close here."""
