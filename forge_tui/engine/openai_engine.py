"""``KnowledgeEngine`` over an OpenAI-compatible server: Ollama, vLLM, llama.cpp's
``llama-server``, LM Studio, llama-cpp-python's server, or OpenAI itself.

Streaming goes into ``on_piece``; cancelling closes the HTTP stream (which is
what stops the server generating). Structured output follows the model's
``structured`` setting: a GBNF ``grammar`` where the server takes one, else the
request's JSON Schema in the server's dialect. Failures never raise out of
``generate``: they come back as a result with the partial text and a message
naming the fix (``backend_failed`` when nothing was produced, so a router may
try another model).
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any, Callable

import httpx2
import openai

from forge_tui.config import ModelSpec
from forge_tui.engine.base import EngineError, GenerationRequest, Finish, GenerationResult, OnPiece, Structured
from forge_tui.engine.remote import (
    DEFAULT_N_CTX,
    MIN_REPLY_ROOM,
    RemoteEngine,
    api_key,
    context_error,
    estimate_tokens,
    pumped,
)

OPENAI_URL = "https://api.openai.com/v1"
JSON_HINT = "Answer with one JSON object only."
#: keys under which servers report a model's context size in /v1/models
_CTX_KEYS = ("max_model_len", "context_length", "max_context_length", "n_ctx", "n_ctx_train")


def structured_params(mode: str, request: GenerationRequest) -> dict[str, Any]:
    """The request fields that constrain the answer, in the server's dialect (``mode``).

    Raises ``EngineError`` for a grammar sent to a server that takes only schemas.
    """
    grammar, schema = request.grammar, request.json_schema
    if grammar is not None:
        if mode != "grammar":
            raise EngineError(f"This server takes JSON schemas (structured = \"{mode}\"), not GBNF grammars; "
                              "set structured = \"grammar\" only for llama-server or llama-cpp-python's server.")
        return {"extra_body": {"grammar": grammar}}
    if schema is None or mode == "prompt":
        return {}
    if mode in ("json_object", "grammar"):  # llama-cpp-python's server and llama-server take this form
        return {"response_format": {"type": "json_object", "schema": schema}}
    if mode == "vllm":
        return {"extra_body": {"structured_outputs": {"json": schema}}}
    if mode == "ollama":
        return {"extra_body": {"format": schema}}
    return {"response_format": {"type": "json_schema",
                                "json_schema": {"name": "answer", "schema": schema, "strict": True}}}


def schema_messages(mode: str, request: GenerationRequest) -> list[dict]:
    """The messages, with a note asking for JSON when the answer is constrained by a schema."""
    messages = [dict(m) for m in request.messages]
    if request.json_schema is None:
        return messages
    hint = JSON_HINT
    if mode == "prompt":
        hint += " It must match this JSON Schema:\n" + json.dumps(request.json_schema)
    if messages and messages[0].get("role") == "system":
        messages[0]["content"] = f"{messages[0]['content']}\n\n{hint}"
    else:
        messages.insert(0, {"role": "system", "content": hint})
    return messages


class OpenAIEngine(RemoteEngine):

    def __init__(self, spec: ModelSpec, embedder: Any = None, http_client: httpx2.Client | None = None):
        super().__init__(spec, embedder)
        self._structured: Structured = "grammar" if spec.structured_mode == "grammar" else "json_schema"
        self.base_url = (spec.base_url or OPENAI_URL).rstrip("/")
        self._http_client = http_client  # tests pass one with a MockTransport
        self._client: openai.OpenAI | None = None

    @property
    def kind(self) -> str:
        return "openai"

    @property
    def structured(self) -> Structured:
        return self._structured

    # -- connecting ------------------------------------------------------------
    def client(self) -> openai.OpenAI:
        if self._client is None:
            default_env = "OPENAI_API_KEY" if not self.spec.base_url else None
            timeout = httpx2.Timeout(self.spec.read_timeout, connect=self.spec.connect_timeout)
            self._client = openai.OpenAI(
                api_key=api_key(self.spec, default_env), base_url=self.base_url, timeout=timeout,
                max_retries=0, http_client=self._http_client,
            )
        return self._client

    def _connect(self) -> None:
        """Reach the server, check it serves the model, and learn its context size."""
        wait = self.spec.connect_timeout + 5
        try:
            models = list(self.client().with_options(timeout=wait).models.list())
        except openai.APITimeoutError:
            raise EngineError(f"{self.base_url} did not list its models within {wait:g} s: the server is busy "
                              f"or stuck. Check it, then pick the model again (ctrl+m).") from None
        except openai.APIError as exc:
            raise EngineError(self.explain(exc)) from None
        names = [m.id for m in models]
        wanted = self.spec.remote_model
        match = next((m for m in models if m.id == wanted), None)
        if names and match is None:
            raise EngineError(
                f"The server at {self.base_url} has no model '{wanted}'. It serves: {', '.join(names[:12])}. "
                f"Fix `model` in [models.{self.spec.name}] (or load the model on the server)."
            )
        if not self.spec.n_ctx and match is not None:
            self.n_ctx = _context_size(match.model_dump()) or DEFAULT_N_CTX

    def explain(self, exc: BaseException) -> str:
        """One line naming what went wrong and the fix."""
        where, name = self.base_url, self.spec.name
        if isinstance(exc, openai.APITimeoutError):
            return (f"{where} did not answer within {self.spec.read_timeout:g} s. Raise read_timeout in "
                    f"[models.{name}] for a slow model, or check the server.")
        if isinstance(exc, openai.APIConnectionError):
            return (f"Cannot reach {where} ({_cause(exc)}). Start the server, or fix base_url in [models.{name}].")
        if isinstance(exc, openai.AuthenticationError):
            env = self.spec.api_key_env or ("OPENAI_API_KEY" if not self.spec.base_url else "")
            fix = f"set {env} to a valid key" if env else f"name the key's variable with api_key_env in [models.{name}]"
            return f"{where} refused the API key (401): {fix}."
        if isinstance(exc, openai.NotFoundError):
            return (f"{where} answered 404 for model '{self.spec.remote_model}': fix `model` (or base_url, "
                    f"which usually ends in /v1) in [models.{name}]. Server said: {_server_message(exc)}")
        if isinstance(exc, openai.RateLimitError):
            return (f"{where} is rate-limiting requests (429): wait and send again, or route the task to "
                    f"another model. Server said: {_server_message(exc)}")
        if isinstance(exc, openai.APIStatusError):
            return f"{where} answered {exc.status_code}: {_server_message(exc)}"
        return f"{where}: {type(exc).__name__}: {exc}"

    # -- generation ------------------------------------------------------------
    def generate(self, request: GenerationRequest, on_piece: OnPiece, cancel: threading.Event) -> GenerationResult:
        started = time.perf_counter()
        mode = self.spec.structured_mode
        messages = schema_messages(mode, request)
        prompt_estimate = estimate_tokens(messages)
        if prompt_estimate + MIN_REPLY_ROOM > self.n_ctx:
            return GenerationResult("", 0, prompt_estimate, "context", time.perf_counter() - started,
                                    context_error(prompt_estimate, self.n_ctx))
        try:
            self.wait_ready()
        except EngineError as exc:
            return GenerationResult("", 0, 0, "error", time.perf_counter() - started, str(exc), backend_failed=True)
        try:
            constraint = structured_params(mode, request)
        except EngineError as exc:
            return GenerationResult("", 0, 0, "error", time.perf_counter() - started, str(exc))
        kwargs: dict[str, Any] = dict(
            model=self.spec.remote_model, messages=messages, max_tokens=request.max_tokens,
            temperature=request.temperature, stream=True, stream_options={"include_usage": True}, **constraint,
        )
        if request.stop:
            kwargs["stop"] = list(request.stop)
        stream = self._open(kwargs, cancel)
        if isinstance(stream, GenerationResult):
            stream.elapsed_s = time.perf_counter() - started
            return stream
        return self._consume(stream, on_piece, cancel, prompt_estimate, started)

    def _open(self, kwargs: dict, cancel: threading.Event):
        """Start the stream; retry only requests that never reached the model.

        Some servers (llama-cpp-python's) process the whole prompt before they send the
        response headers, and nothing interrupts a request waiting for them: the request
        runs on its own thread, a cancel returns at once, and the stream is closed as soon
        as it arrives (which stops the server before it generates).
        """
        for attempt in range(self.spec.max_retries + 1):
            if cancel.is_set():
                return GenerationResult("", 0, 0, "cancelled")
            try:
                stream = _open_cancellable(lambda: self.client().chat.completions.create(**kwargs), cancel)
            except openai.APIError as exc:
                if attempt < self.spec.max_retries and _safe_to_retry(exc):
                    cancel.wait(min(4.0, 0.5 * 2 ** attempt))
                    continue
                return GenerationResult("", 0, 0, "error", error=self.explain(exc), backend_failed=True)
            return stream if stream is not None else GenerationResult("", 0, 0, "cancelled")
        raise AssertionError("unreachable")

    def _consume(self, stream, on_piece: OnPiece, cancel: threading.Event, prompt_estimate: int,
                 started: float) -> GenerationResult:
        pieces: list[str] = []
        chunks = 0
        finish: Finish = "stop"
        error, usage = None, None
        try:
            for chunk in pumped(stream, cancel):
                if chunk.usage is not None:
                    usage = chunk.usage
                for choice in chunk.choices:
                    text = choice.delta.content if choice.delta else None
                    if text:
                        chunks += 1
                        pieces.append(text)
                        on_piece(text)
                    if choice.finish_reason:
                        finish = "length" if choice.finish_reason == "length" else "stop"
        except (openai.APIError, httpx2.HTTPError, ValueError) as exc:
            if not cancel.is_set():
                finish, error = "error", self._midstream_error(exc, bool(pieces))
        if cancel.is_set():
            finish, error = "cancelled", None
        completion = usage.completion_tokens if usage is not None else chunks  # one chunk ≈ one token
        prompt = usage.prompt_tokens if usage is not None else prompt_estimate
        return GenerationResult(
            "".join(pieces), completion, prompt, finish, time.perf_counter() - started, error,
            backend_failed=finish == "error" and not pieces,
        )

    def _midstream_error(self, exc: BaseException, had_text: bool) -> str:
        if isinstance(exc, (openai.APITimeoutError, httpx2.TimeoutException)):
            timed_out = self.explain(openai.APITimeoutError(request=httpx2.Request("POST", self.base_url)))
            return timed_out + (" The partial reply is kept." if had_text else "")
        if isinstance(exc, ValueError):
            what = f"sent a malformed stream ({exc})"
        elif isinstance(exc, openai.APIError) and not isinstance(exc, openai.APIConnectionError):
            what = f"reported an error: {exc.message}"
        else:
            what = f"closed the connection ({type(exc).__name__}: {exc})"
        kept = " The partial reply is kept." if had_text else ""
        return f"The server at {self.base_url} {what} mid-reply.{kept} Check the server's log, then send again."

    def served_models(self) -> list[str]:
        """Model ids the server lists (for discovery and error messages)."""
        return [m.id for m in self.client().models.list()]


def _open_cancellable(open_stream: Callable[[], Any], cancel: threading.Event) -> Any:
    """``open_stream()`` on a helper thread; None if ``cancel`` is set first (the stream that
    arrives later is closed unread). Errors from opening are re-raised here."""
    box: dict[str, Any] = {}
    done = threading.Event()

    def run() -> None:
        try:
            box["stream"] = open_stream()
        except BaseException as exc:  # handed to the caller's thread below
            box["error"] = exc
        finally:
            done.set()
            if cancel.is_set() and "stream" in box:
                box["stream"].close()

    threading.Thread(target=run, name="openai-request", daemon=True).start()
    while not done.wait(0.05):
        if cancel.is_set():
            return None
    if "error" in box:
        raise box["error"]
    if cancel.is_set():
        box["stream"].close()
        return None
    return box["stream"]


def _context_size(entry: dict) -> int:
    for source in (entry, entry.get("meta") or {}):
        for key in _CTX_KEYS:
            value = source.get(key)
            if isinstance(value, int) and value >= 256:
                return value
    return 0


def _safe_to_retry(exc: openai.APIError) -> bool:
    """Nothing reached the model: the connection failed (not a timeout), or the server said busy."""
    if isinstance(exc, openai.APITimeoutError):
        return False
    if isinstance(exc, openai.APIConnectionError):
        return True
    return isinstance(exc, openai.APIStatusError) and exc.status_code in (429, 503, 529)


def _cause(exc: BaseException) -> str:
    cause: BaseException | None = exc.__cause__ or exc.__context__
    return f"{type(cause).__name__}: {cause}" if cause is not None else str(exc)


def _server_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error")
        fields = inner if isinstance(inner, dict) else body
        msg = fields.get("message") or fields.get("detail")
        if msg:
            return str(msg)[:300]
    return (exc.message or f"HTTP {exc.status_code}")[:300]
