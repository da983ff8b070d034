"""The OpenAI engine's edges with a scripted transport (httpx2.MockTransport): keys,
structured-output dialects, usage, retries and every refusal's message."""

from __future__ import annotations

import json
import threading

import httpx2
import pytest

from forge_tui.config import parse_models
from forge_tui.engine.base import GenerationRequest
from forge_tui.engine.openai_engine import OpenAIEngine, structured_params
from forge_tui.engine.remote import PLACEHOLDER_KEY

SCHEMA = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}


def sse(*chunks: dict, done: bool = True) -> bytes:
    body = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks)
    return (body + ("data: [DONE]\n\n" if done else "")).encode()


def chunk(text: str | None = None, finish: str | None = None, usage: dict | None = None) -> dict:
    choices = [] if text is None and finish is None else [
        {"index": 0, "delta": {"content": text} if text else {}, "finish_reason": finish}]
    return {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m", "choices": choices,
            "usage": usage}


class Script:
    """Answers /models with one model and /chat/completions with the queued responses."""

    def __init__(self, *responses: httpx2.Response, models: list[dict] | None = None):
        self.responses = list(responses)
        self.models = models if models is not None else [{"id": "m", "object": "model", "owned_by": "x"}]
        self.requests: list[httpx2.Request] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        if request.url.path.endswith("/models"):
            return httpx2.Response(200, json={"object": "list", "data": self.models})
        return self.responses.pop(0)

    def chats(self) -> list[dict]:
        return [json.loads(r.content) for r in self.requests if r.url.path.endswith("/chat/completions")]


def make(script: Script, extra: str = "", base_url: str = "http://10.0.0.5:8000/v1") -> OpenAIEngine:
    cfg = parse_models(f'[models.r]\nkind = "openai"\nbase_url = "{base_url}"\nmodel = "m"\nmax_retries = 1\n{extra}')
    return OpenAIEngine(cfg.get("r"), http_client=httpx2.Client(transport=httpx2.MockTransport(script)))


def run(engine: OpenAIEngine, request: GenerationRequest | None = None):
    pieces: list[str] = []
    result = engine.generate(request or GenerationRequest([{"role": "user", "content": "hi"}]), pieces.append,
                             threading.Event())
    return result, pieces


def stream(*chunks: dict, done: bool = True) -> httpx2.Response:
    return httpx2.Response(200, content=sse(*chunks, done=done), headers={"content-type": "text/event-stream"})


def test_custom_base_url_never_gets_openai_api_key(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-real-secret")
    script = Script(stream(chunk("Hi"), chunk(finish="stop")))
    result, pieces = run(make(script))
    assert result.text == "Hi" and pieces == ["Hi"]
    assert all(r.headers["authorization"] == f"Bearer {PLACEHOLDER_KEY}" for r in script.requests)


def test_named_key_variable_is_sent_and_missing_one_is_explained(monkeypatch):
    monkeypatch.setenv("MY_VLLM_KEY", "k-123")
    script = Script(stream(chunk("x"), chunk(finish="stop")))
    run(make(script, 'api_key_env = "MY_VLLM_KEY"\n'))
    assert script.requests[-1].headers["authorization"] == "Bearer k-123"
    monkeypatch.delenv("MY_VLLM_KEY")
    result, _ = run(make(Script(), 'api_key_env = "MY_VLLM_KEY"\n'))
    assert result.finish == "error" and "MY_VLLM_KEY, which is not set" in result.error and "export" in result.error


def test_usage_from_the_server_is_used_and_context_size_is_learned():
    script = Script(stream(chunk("a"), chunk("b", finish="length"),
                           chunk(usage={"prompt_tokens": 7, "completion_tokens": 2, "total_tokens": 9})),
                    models=[{"id": "m", "object": "model", "owned_by": "x", "max_model_len": 32768}])
    engine = make(script)
    result, _ = run(engine)
    assert (result.text, result.tokens, result.prompt_tokens, result.finish) == ("ab", 2, 7, "length")
    assert engine.n_ctx == 32768
    assert script.chats()[0]["stream_options"] == {"include_usage": True}


@pytest.mark.parametrize("mode, key, value", [
    ("grammar", "response_format", {"type": "json_object", "schema": SCHEMA}),
    ("vllm", "structured_outputs", {"json": SCHEMA}),
    ("ollama", "format", SCHEMA),
    ("json_object", "response_format", {"type": "json_object", "schema": SCHEMA}),
    ("json_schema", "response_format", {"type": "json_schema",
                                        "json_schema": {"name": "answer", "schema": SCHEMA, "strict": True}}),
])
def test_structured_output_dialects(mode, key, value):
    script = Script(stream(chunk('{"a": "b"}'), chunk(finish="stop")))
    request = GenerationRequest([{"role": "user", "content": "q"}], json_schema=SCHEMA)
    engine = make(script, f'structured = "{mode}"\n')
    run(engine, request)
    assert script.chats()[0][key] == value
    assert "JSON object" in script.chats()[0]["messages"][0]["content"]
    assert engine.structured == ("grammar" if mode == "grammar" else "json_schema")


def test_grammar_goes_to_grammar_servers_and_is_refused_elsewhere():
    script = Script(stream(chunk("x: 1"), chunk(finish="stop")))
    grammar = GenerationRequest([{"role": "user", "content": "q"}], grammar='root ::= "x"')
    run(make(script, 'structured = "grammar"\n'), grammar)
    assert script.chats()[0]["grammar"] == 'root ::= "x"'
    result, _ = run(make(Script(), 'structured = "vllm"\n'), grammar)
    assert result.finish == "error" and 'set structured = "grammar" only for llama-server' in result.error
    assert structured_params("json_schema", GenerationRequest([])) == {}


@pytest.mark.parametrize("status, fragment", [
    (401, "refused the API key (401)"),
    (404, "answered 404 for model 'm'"),
    (429, "rate-limiting requests (429)"),
    (500, "answered 500: boom"),
])
def test_refusals_name_the_fix(status, fragment):
    error = httpx2.Response(status, json={"error": {"message": "boom", "type": "x"}})
    script = Script(error, httpx2.Response(status, json={"error": {"message": "boom"}}))
    result, _ = run(make(script))
    assert result.finish == "error" and result.backend_failed and fragment in result.error
    retried = len(script.chats()) == 2
    assert retried == (status == 429)  # only a request that never reached the model is retried


def test_malformed_sse_keeps_the_partial_text():
    bad = httpx2.Response(200, content=sse(chunk("par"), chunk("tial"), done=False) + b"data: {not json\n\n",
                          headers={"content-type": "text/event-stream"})
    result, pieces = run(make(Script(bad)))
    assert result.finish == "error" and result.text == "partial" == "".join(pieces)
    assert "malformed stream" in result.error and "partial reply is kept" in result.error


def test_unreachable_url_names_the_fix():
    cfg = parse_models('[models.r]\nkind = "openai"\nbase_url = "http://127.0.0.1:9/v1"\nmax_retries = 0\n')
    result, _ = run(OpenAIEngine(cfg.get("r")))
    assert result.finish == "error" and result.backend_failed
    assert "Cannot reach http://127.0.0.1:9/v1" in result.error and "Start the server" in result.error


def test_prompt_over_the_context_is_refused_before_sending():
    script = Script()
    engine = make(script, "n_ctx = 256\n")
    result, _ = run(engine, GenerationRequest([{"role": "user", "content": "word " * 400}]))
    assert result.finish == "context" and "fills this model's context" in result.error
    assert script.chats() == []
