"""The llama.cpp implementation of ``KnowledgeEngine``.

One dedicated thread owns the ``Llama`` object (llama.cpp contexts are not
thread-safe): loading, tokenizing and decoding all run there; callers block on
a future. ctypes releases the GIL during decode, so the UI stays responsive.
Token pieces are handed to ``on_piece`` from the engine thread.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Protocol, Sequence

from forge_tui.config import ModelSpec
from forge_tui.engine.adapters import AdapterError, AdapterSet
from forge_tui.engine.base import (
    EngineError,
    GenerationRequest,
    GenerationResult,
    Message,
    OnPiece,
    Structured,
)
from forge_tui.engine.grammar import GrammarError
from forge_tui.engine.model_files import ModelFileError, resolve_model_path

__all__ = ["EngineError", "LlamaEngine", "MIN_REPLY_ROOM"]


class TextEmbedder(Protocol):
    """The sentence embedder the root passes in (``search.embedder.Embedder``)."""

    def embed(self, texts: list[str]) -> Any: ...


#: tokens kept free at the end of the context so a reply has room to start
MIN_REPLY_ROOM = 16


class LlamaEngine:
    """Implements ``KnowledgeEngine`` (``forge_tui.engine.base``) on llama.cpp."""

    def __init__(self, spec: ModelSpec, cache_dir: Path, base_dir: Path | None = None,
                 embedder: TextEmbedder | None = None):
        self.spec = spec
        self.embedder = embedder
        self._model_name = spec.name
        self._n_ctx = spec.n_ctx
        self._cache_dir = Path(cache_dir)
        self._base_dir = base_dir
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"llama-{spec.name}")
        self._load_future: Future[None] | None = None
        self._lock = threading.Lock()
        self.llm: Any = None
        self._decoder: Any = None
        self._format: Callable[[Sequence[Message]], tuple[str, list[str]]] | None = None
        self._load_seconds: float | None = None
        self.adapters: AdapterSet | None = None

    @property
    def model_name(self) -> str:
        return self._model_name

    @property
    def kind(self) -> str:
        return "llama"

    @property
    def structured(self) -> Structured:
        return "grammar"

    @property
    def n_ctx(self) -> int:
        return self._n_ctx

    @property
    def load_seconds(self) -> float | None:
        return self._load_seconds

    # -- loading -------------------------------------------------------------
    def start_loading(self) -> Future[None]:
        """Load the model on the engine thread; returns a future (idempotent)."""
        with self._lock:
            if self._load_future is None:
                self._load_future = self._pool.submit(self._load)
            return self._load_future

    def wait_ready(self, timeout: float | None = None) -> None:
        self.start_loading().result(timeout)

    @property
    def ready(self) -> bool:
        return self._load_future is not None and self._load_future.done() and self._load_future.exception() is None

    def _load(self) -> None:
        import llama_cpp

        from forge_tui.engine.chat_template import ChatTemplateError, make_formatter
        from forge_tui.engine.decoder import Decoder
        from forge_tui.engine.llama_log import install as install_llama_log

        started = time.perf_counter()
        try:
            path = resolve_model_path(self.spec.path, self._cache_dir, self._base_dir)
        except ModelFileError as exc:
            raise EngineError(str(exc)) from None
        kwargs: dict[str, Any] = dict(
            model_path=str(path),
            n_ctx=self.spec.n_ctx,
            n_gpu_layers=self.spec.n_gpu_layers,
            n_threads=self.spec.threads,
            n_threads_batch=self.spec.threads,
            verbose=False,
        )
        install_llama_log()
        try:
            llm = llama_cpp.Llama(**kwargs)
            install_llama_log()  # Llama(verbose=False) installs its own printer; take the log back
        except (ValueError, RuntimeError, OSError) as exc:
            raise EngineError(
                f"llama.cpp could not load {path.name}: {exc}. Check that the file is a complete GGUF model "
                f"and that n_ctx ({self.spec.n_ctx}) fits in memory."
            ) from None
        try:
            self._format = make_formatter(llm, self.spec.chat_format)
        except ChatTemplateError as exc:
            llm.close()
            raise EngineError(f"[models.{self.spec.name}]: {exc}") from None
        try:
            self.adapters = AdapterSet(llm, self.spec, path, self._cache_dir, self._base_dir)
        except AdapterError as exc:
            llm.close()
            raise EngineError(str(exc)) from None
        self.llm = llm
        self._decoder = Decoder(llm)
        self._load_seconds = time.perf_counter() - started

    # -- prompts -------------------------------------------------------------
    def _prompt_tokens(self, messages: Sequence[Message]) -> tuple[list[int], list[str]]:
        assert self._format is not None, "called before the model loaded"
        from forge_tui.engine.chat_template import tokenize_prompt

        prompt, stops = self._format(messages)
        return tokenize_prompt(self.llm, prompt), stops

    def count_tokens(self, messages: Sequence[Message]) -> int:
        self.wait_ready()
        return self._pool.submit(lambda: len(self._prompt_tokens(messages)[0])).result()

    def count_text_tokens(self, text: str) -> int:
        self.wait_ready()
        return self._pool.submit(
            lambda: len(self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))).result()

    # -- generation ----------------------------------------------------------
    def generate(
        self, request: GenerationRequest, on_piece: OnPiece, cancel: threading.Event
    ) -> GenerationResult:
        self.wait_ready()
        return self._pool.submit(self._generate, request, on_piece, cancel).result()

    def _generate(self, request: GenerationRequest, on_piece: OnPiece, cancel: threading.Event) -> GenerationResult:
        started = time.perf_counter()
        adapter = self.adapters.activate(request.task) if self.adapters is not None else None
        tokens, stops = self._prompt_tokens(request.messages)
        room = self.n_ctx - len(tokens)
        if room < MIN_REPLY_ROOM:
            return GenerationResult(
                text="", tokens=0, prompt_tokens=len(tokens), finish="context",
                elapsed_s=time.perf_counter() - started, adapter=adapter,
                error=(
                    f"The conversation ({len(tokens)} tokens) fills this model's context (n_ctx {self.n_ctx}). "
                    "Compress it and continue in a new session, or switch to a model with a larger n_ctx."
                ),
            )
        pieces: list[str] = []
        try:
            grammar = request.grammar if request.json_schema is None else _schema_grammar(request.json_schema)
            for piece in self._decoder.stream(
                tokens,
                max_tokens=request.max_tokens,
                temperature=request.temperature,
                grammar=grammar,
                cancel=cancel,
                stop=list(request.stop) + stops,
            ):
                pieces.append(piece)
                on_piece(piece)
        except GrammarError as exc:  # invalid grammar (refused before use) or a dead end mid-stream
            return GenerationResult(
                text="".join(pieces), tokens=len(pieces), prompt_tokens=len(tokens), finish="error",
                elapsed_s=time.perf_counter() - started, error=f"Grammar problem: {exc}", adapter=adapter,
            )
        stats = self._decoder.last
        error = None
        if stats.finish == "context":
            error = (
                f"The reply reached the end of the context (n_ctx {self.n_ctx}) and was stopped. "
                "Compress the conversation and continue, or use a model with a larger n_ctx."
            )
        return GenerationResult(
            text="".join(pieces), tokens=stats.tokens, prompt_tokens=len(tokens), finish=stats.finish,
            elapsed_s=time.perf_counter() - started, error=error, adapter=adapter,
        )

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if self.embedder is None:
            raise EngineError("No embedding model is configured: set [embedding].model in models.toml.")
        return [list(map(float, v)) for v in self.embedder.embed(list(texts))]

    def close(self) -> None:
        def _free() -> None:
            if self.adapters is not None:
                self.adapters.close()
                self.adapters = None
            if self.llm is not None:
                self.llm.close()
                self.llm = None

        try:
            self._pool.submit(_free).result(timeout=10)
        finally:
            self._pool.shutdown(wait=False)


def _schema_grammar(schema: dict[str, Any]) -> str:
    """GBNF for a JSON Schema (llama.cpp's own converter); a schema it cannot express is a GrammarError."""
    import json

    from llama_cpp.llama_grammar import json_schema_to_gbnf

    try:
        return str(json_schema_to_gbnf(json.dumps(schema)))
    except (ValueError, KeyError, TypeError, NotImplementedError) as exc:
        raise GrammarError(f"the JSON schema cannot be turned into a grammar: {exc}") from None
