"""``KnowledgeEngine`` over Claude (the Anthropic Messages API), the cloud fallback.

System messages (Forge's instructions, a continued session's archive) become
one system block marked for prompt caching, so a long archive is paid for once;
the cache tokens the server reports are returned with the result. Claude takes
no grammar: structured answers are requested with the JSON Schema in the prompt
and validated by the caller, like every other engine's.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import anthropic
import httpx2

from forge_tui.config import ModelSpec
from forge_tui.engine.base import EngineError, GenerationRequest, Finish, GenerationResult, OnPiece, Structured
from forge_tui.engine.openai_engine import schema_messages
from forge_tui.engine.remote import (
    MIN_REPLY_ROOM,
    RemoteEngine,
    api_key,
    context_error,
    estimate_tokens,
    pumped,
)

ANTHROPIC_URL = "https://api.anthropic.com"
DEFAULT_KEY_ENV = "ANTHROPIC_API_KEY"
CLAUDE_N_CTX = 200_000
#: below this many characters a system block is not worth a cache write (the API's minimum is ~1k tokens)
CACHE_MIN_CHARS = 2048


def to_claude(messages: list[dict]) -> tuple[list[dict], list[dict]]:
    """(system blocks, alternating messages): consecutive same-role turns are joined, and the
    conversation starts with the user, as the Messages API requires."""
    system = [str(m["content"]) for m in messages if m.get("role") == "system" and m.get("content")]
    blocks: list[dict] = []
    if system:
        block: dict[str, Any] = {"type": "text", "text": "\n\n".join(system)}
        if len(block["text"]) >= CACHE_MIN_CHARS:
            block["cache_control"] = {"type": "ephemeral"}
        blocks.append(block)
    turns: list[dict] = []
    for m in messages:
        role = m.get("role")
        if role not in ("user", "assistant") or not m.get("content"):
            continue
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"] += "\n\n" + str(m["content"])
        else:
            turns.append({"role": role, "content": str(m["content"])})
    if not turns or turns[0]["role"] != "user":
        turns.insert(0, {"role": "user", "content": "(continue)"})
    return blocks, turns


class AnthropicEngine(RemoteEngine):

    def __init__(self, spec: ModelSpec, embedder: Any = None, http_client: httpx2.Client | None = None):
        super().__init__(spec, embedder)
        self.n_ctx = spec.n_ctx or CLAUDE_N_CTX
        self.base_url = (spec.base_url or ANTHROPIC_URL).rstrip("/")
        self._http_client = http_client
        self._client: anthropic.Anthropic | None = None

    @property
    def kind(self) -> str:
        return "anthropic"

    @property
    def structured(self) -> Structured:
        return "json_schema"  # asked for in the prompt, validated by the caller

    def client(self) -> anthropic.Anthropic:
        if self._client is None:
            timeout = httpx2.Timeout(self.spec.read_timeout, connect=self.spec.connect_timeout)
            self._client = anthropic.Anthropic(
                api_key=api_key(self.spec, DEFAULT_KEY_ENV), base_url=self.base_url, timeout=timeout,
                max_retries=0, http_client=self._http_client,
            )
        return self._client

    def _connect(self) -> None:
        """No network call (it would cost a request): the key must be in its variable."""
        self.client()

    def explain(self, exc: BaseException) -> str:
        name, env = self.spec.name, self.spec.api_key_env or DEFAULT_KEY_ENV
        if isinstance(exc, anthropic.APITimeoutError):
            return f"Claude did not answer within {self.spec.read_timeout:g} s. Raise read_timeout in [models.{name}]."
        if isinstance(exc, anthropic.APIConnectionError):
            return f"Cannot reach {self.base_url}: check the network (or base_url in [models.{name}])."
        if isinstance(exc, anthropic.AuthenticationError):
            return f"Claude refused the API key (401): set {env} to a valid key."
        if isinstance(exc, anthropic.NotFoundError):
            return f"Claude has no model '{self.spec.remote_model}' (404): fix `model` in [models.{name}]."
        if isinstance(exc, anthropic.APIStatusError):
            status = exc.status_code
            busy = " (overloaded)" if status == 529 else " (rate limited)" if status == 429 else ""
            return (f"Claude answered {status}{busy}: {_message(exc)}. Wait and send again, or route the task "
                    f"to another model.")
        return f"Claude: {type(exc).__name__}: {exc}"

    def generate(self, request: GenerationRequest, on_piece: OnPiece, cancel: threading.Event) -> GenerationResult:
        started = time.perf_counter()
        if request.grammar is not None:
            return GenerationResult("", 0, 0, "error", 0.0, "Claude takes no GBNF grammar: send a json_schema.")
        messages = schema_messages("prompt", request)
        estimate = estimate_tokens(messages)
        if estimate + MIN_REPLY_ROOM > self.n_ctx:
            return GenerationResult("", 0, estimate, "context", 0.0, context_error(estimate, self.n_ctx))
        try:
            self.wait_ready()
        except EngineError as exc:
            return GenerationResult("", 0, 0, "error", 0.0, str(exc), backend_failed=True)
        system, turns = to_claude(messages)
        kwargs: dict[str, Any] = dict(model=self.spec.remote_model, max_tokens=request.max_tokens,
                                      messages=turns, stream=True)  # this API version takes no temperature
        if system:
            kwargs["system"] = system
        if request.stop:
            kwargs["stop_sequences"] = list(request.stop)
        stream = None
        for attempt in range(self.spec.max_retries + 1):
            try:
                stream = self.client().messages.create(**kwargs)
                break
            except anthropic.APIError as exc:
                retry = isinstance(exc, anthropic.APIStatusError) and exc.status_code in (429, 503, 529)
                retry = retry or (isinstance(exc, anthropic.APIConnectionError)
                                  and not isinstance(exc, anthropic.APITimeoutError))
                if retry and attempt < self.spec.max_retries and not cancel.wait(min(4.0, 0.5 * 2 ** attempt)):
                    continue
                return GenerationResult("", 0, 0, "error", time.perf_counter() - started, self.explain(exc),
                                        backend_failed=True)
        assert stream is not None
        return self._consume(stream, on_piece, cancel, estimate, started)

    def _consume(self, stream, on_piece: OnPiece, cancel: threading.Event, estimate: int,
                 started: float) -> GenerationResult:
        pieces: list[str] = []
        prompt, output, cache_read, cache_write = estimate, 0, 0, 0
        finish: Finish = "stop"
        error: str | None = None
        try:
            for event in pumped(stream, cancel):
                if event.type == "message_start":
                    usage = event.message.usage
                    prompt = usage.input_tokens or 0
                    cache_read = usage.cache_read_input_tokens or 0
                    cache_write = usage.cache_creation_input_tokens or 0
                    prompt += cache_read + cache_write
                elif event.type == "content_block_delta" and event.delta.type == "text_delta":
                    pieces.append(event.delta.text)
                    on_piece(event.delta.text)
                elif event.type == "message_delta":
                    output = event.usage.output_tokens or output
                    if event.delta.stop_reason == "max_tokens":
                        finish = "length"
        except (anthropic.APIError, httpx2.HTTPError, ValueError) as exc:
            if not cancel.is_set():
                finish = "error"
                kept = " The partial reply is kept." if pieces else ""
                reason = self.explain(exc) if isinstance(exc, anthropic.APIError) else f"{type(exc).__name__}: {exc}"
                error = f"Claude stopped mid-reply: {reason}{kept}"
        if cancel.is_set():
            finish, error = "cancelled", None
        return GenerationResult(
            "".join(pieces), output or len(pieces), prompt, finish, time.perf_counter() - started, error,
            backend_failed=finish == "error" and not pieces, cache_read_tokens=cache_read,
            cache_write_tokens=cache_write,
        )


def _message(exc: anthropic.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        err = body.get("error") if isinstance(body.get("error"), dict) else body
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])[:300]
    return str(exc.message)[:300]
