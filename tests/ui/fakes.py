"""A scripted engine for UI tests: streams fixed pieces with small sleeps, honours cancel.

It stands in for the model only; the store in UI tests is the real SecantusDB server.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future
from typing import Sequence

from forge_tui.engine.base import GenerationRequest, GenerationResult

DEFAULT_REPLY = ("Sure. Here is a **plan**:\n\n1. Read the file\n2. Change the function\n3. Run the tests\n\n"
                 "```python\nprint('done')\n```\n")


def split_pieces(text: str, size: int = 4) -> list[str]:
    return [text[i:i + size] for i in range(0, len(text), size)]


class FakeEngine:
    """Implements ``KnowledgeEngine`` with a scripted reply."""

    def __init__(self, model_name: str = "fake", n_ctx: int = 4096, reply: str = DEFAULT_REPLY,
                 delay_s: float = 0.005, fail_load: str | None = None):
        self.model_name = model_name
        self.kind = "llama"  # stands in for the in-process engine
        self.structured = "grammar"
        self.n_ctx = n_ctx
        self.reply = reply
        self.delay_s = delay_s
        self.fail_load = fail_load
        self.load_seconds = 0.0
        self.requests: list[GenerationRequest] = []
        self.started = threading.Event()  # set when a generation begins
        self.closed = False
        self._future: Future = Future()

    def start_loading(self) -> Future:
        if not self._future.done():
            if self.fail_load:
                self._future.set_exception(RuntimeError(self.fail_load))
            else:
                self._future.set_result(None)
        return self._future

    @property
    def ready(self) -> bool:
        return self._future.done() and self._future.exception() is None

    def wait_ready(self, timeout: float | None = None) -> None:
        self.start_loading().result(timeout)

    def count_tokens(self, messages: Sequence[dict]) -> int:
        return sum(len(m["content"].split()) + 4 for m in messages)

    def count_text_tokens(self, text: str) -> int:
        return len(text.split())

    def generate(self, request: GenerationRequest, on_piece, cancel: threading.Event) -> GenerationResult:
        self.requests.append(request)
        self.started.set()
        sent: list[str] = []
        for piece in split_pieces(self.reply):
            if cancel.is_set():
                break
            time.sleep(self.delay_s)
            sent.append(piece)
            on_piece(piece)
        text = "".join(sent)
        finish = "cancelled" if cancel.is_set() else "stop"
        prompt = self.count_tokens(request.messages)
        return GenerationResult(text=text, tokens=len(sent), prompt_tokens=prompt, finish=finish)

    def embed(self, texts):
        return [[0.0] for _ in texts]

    def close(self) -> None:
        self.closed = True


class StoreLinkTo:
    """A ``StoreLink`` to a test's store: ``store_factory()`` may raise to play an unreachable
    database; ``recover`` (ctrl+r, the monitor) calls it again."""

    def __init__(self, store_factory, embedded: bool = False):
        self._factory = store_factory
        self._embedded = embedded
        self.store = None
        self.recoveries = 0

    @property
    def embedded(self) -> bool:
        return self._embedded

    def connect(self):
        store = self._factory()
        store.ping()
        self.store = store
        return store

    def alive(self) -> bool:
        if self.store is None:
            return False
        self.store.ping()
        return True

    def recover(self) -> str:
        self.recoveries += 1
        self.connect()
        return "the test store answers again."

    def label(self) -> str:
        return "test database"
