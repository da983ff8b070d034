"""What the engines that talk to a server share: keys, timeouts, token estimates,
cancellation of a blocking stream, and the loading/readiness lifecycle.

Keys come only from the environment variable a model's ``api_key_env`` names;
they are handed to the SDK client and never stored, logged or returned. A
custom ``base_url`` never receives ``OPENAI_API_KEY`` (or any key) unless the
entry names that variable: such servers get a placeholder.
"""

from __future__ import annotations

import math
import os
import queue
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Iterator, Sequence

from forge_tui.config import ModelSpec
from forge_tui.engine.base import EngineError, Message

#: a key for servers that need none (Ollama, vLLM, llama-server accept anything)
PLACEHOLDER_KEY = "not-needed"
DEFAULT_N_CTX = 4096
#: tokens kept free at the end of the context so a reply has room to start
MIN_REPLY_ROOM = 16
#: characters per token for the estimate used when a server cannot count (English prose and code ≈ 3.5–4)
CHARS_PER_TOKEN = 3.5
PER_MESSAGE_TOKENS = 4  # role markers and separators of a chat template


def api_key(spec: ModelSpec, default_env: str | None = None) -> str:
    """The key for ``spec`` from the variable its ``api_key_env`` names (or ``default_env``).

    Raises ``EngineError`` naming the variable when it is named but unset; a
    model with no variable (a local server) gets ``PLACEHOLDER_KEY``.
    """
    env = spec.api_key_env or default_env
    if not env:
        return PLACEHOLDER_KEY
    value = os.environ.get(env, "").strip()
    if not value:
        raise EngineError(
            f"[models.{spec.name}] needs an API key in the environment variable {env}, which is not set. "
            f"Run `export {env}=...` before starting Forge, or name another variable with api_key_env."
        )
    return value


def estimate_tokens(messages: Sequence[Message]) -> int:
    """A server-independent token estimate (no tokenizer here): characters ÷ 3.5, plus per-message overhead."""
    chars = sum(len(str(m.get("content") or "")) for m in messages)
    return math.ceil(chars / CHARS_PER_TOKEN) + PER_MESSAGE_TOKENS * len(messages)


def estimate_text_tokens(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def context_error(prompt_tokens: int, n_ctx: int) -> str:
    return (f"The conversation (about {prompt_tokens} tokens) fills this model's context (n_ctx {n_ctx}). "
            "Compress it and continue in a new session, or switch to a model with a larger context.")


def pumped(stream: Any, cancel: threading.Event, poll_s: float = 0.05) -> Iterator[Any]:
    """The items of a blocking ``stream``, read on a helper thread, until it ends or ``cancel`` is set.

    A read blocked in the socket (a server still processing the prompt) is not
    interrupted by closing the stream from another thread, so the reader runs
    apart: a cancel returns at once, and the reader closes the stream as soon
    as its read returns — the disconnect is what makes the server stop.
    Errors raised while reading are re-raised here.
    """
    items: queue.Queue = queue.Queue()
    end = object()

    def read() -> None:
        try:
            for item in stream:
                items.put(item)
                if cancel.is_set():
                    break
        except BaseException as exc:  # handed to the consuming thread
            items.put(_Failure(exc))
        finally:
            items.put(end)
            stream.close()

    threading.Thread(target=read, name="stream-reader", daemon=True).start()
    while not cancel.is_set():
        try:
            item = items.get(timeout=poll_s)
        except queue.Empty:
            continue
        if item is end:
            return
        if isinstance(item, _Failure):
            raise item.exc
        yield item


class _Failure:
    def __init__(self, exc: BaseException):
        self.exc = exc


class RemoteEngine:
    """Loading, readiness, counting and embedding for engines whose model runs elsewhere.

    ``start_loading`` runs ``_connect`` (reach the server, check the model,
    learn its context size) once on a small pool; ``generate`` waits for it.
    """

    def __init__(self, spec: ModelSpec, embedder: Any = None):
        self.spec = spec
        self.embedder = embedder  # anything with embed(texts) -> vectors; the root passes the Embedder
        self.model_name = spec.name
        self.n_ctx = spec.n_ctx or DEFAULT_N_CTX
        self.load_seconds: float | None = None
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"{spec.kind}-{spec.name}")
        self._load_future: Future | None = None
        self._lock = threading.Lock()

    # -- loading -------------------------------------------------------------
    def start_loading(self) -> Future:
        with self._lock:
            if self._load_future is None:
                self._load_future = self._pool.submit(self._timed_connect)
            return self._load_future

    def _timed_connect(self) -> None:
        started = time.perf_counter()
        self._connect()
        self.load_seconds = time.perf_counter() - started

    def _connect(self) -> None:  # overridden
        return None

    def wait_ready(self, timeout: float | None = None) -> None:
        self.start_loading().result(timeout)

    @property
    def ready(self) -> bool:
        f = self._load_future
        return f is not None and f.done() and f.exception() is None

    # -- counting ------------------------------------------------------------
    def count_tokens(self, messages: Sequence[Message]) -> int:
        return estimate_tokens(messages)

    def count_text_tokens(self, text: str) -> int:
        return estimate_text_tokens(text)

    # -- embedding -----------------------------------------------------------
    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if self.embedder is None:
            raise EngineError("No embedding model is configured: set [embedding].model in models.toml.")
        return [list(map(float, v)) for v in self.embedder.embed(list(texts))]

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
