"""The KnowledgeEngine interface: what the session layer may ask of a model.

Implementations must be safe to call from one worker thread; they never touch
the UI. Streaming is a callback per text piece; cancellation is a
``threading.Event`` checked between tokens and during prompt processing.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Callable, Protocol, Sequence

Message = dict  # {"role": "user"|"assistant"|"system", "content": str}


@dataclass
class GenerationResult:
    text: str
    tokens: int
    prompt_tokens: int
    finish: str  # "stop" | "cancelled" | "length" | "context" | "error"
    elapsed_s: float = 0.0
    error: str | None = None


@dataclass
class GenerationRequest:
    messages: list[Message]
    max_tokens: int = 512
    temperature: float = 0.7
    grammar: str | None = None  # GBNF text, validated by the engine before use
    stop: list[str] = field(default_factory=list)


OnPiece = Callable[[str], None]


class KnowledgeEngine(Protocol):
    model_name: str
    n_ctx: int

    def count_tokens(self, messages: Sequence[Message]) -> int: ...

    def generate(
        self, request: GenerationRequest, on_piece: OnPiece, cancel: threading.Event
    ) -> GenerationResult: ...

    def embed(self, texts: Sequence[str]) -> list[list[float]]: ...

    def close(self) -> None: ...
