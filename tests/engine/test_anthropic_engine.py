"""The Claude engine against a local stand-in speaking the Messages streaming protocol."""

from __future__ import annotations

import threading

import pytest

from forge_tui.config import parse_models
from forge_tui.engine.anthropic_engine import AnthropicEngine, to_claude
from forge_tui.engine.base import EngineError, GenerationRequest

from .anthropic_fake import FakeClaude

SECRET = "sk-ant-test-secret-value"


@pytest.fixture
def claude(monkeypatch):
    monkeypatch.setenv("FORGE_TEST_CLAUDE_KEY", SECRET)
    with FakeClaude() as server:
        yield server


def engine_for(server: FakeClaude, retries: int = 0) -> AnthropicEngine:
    cfg = parse_models(f'[models.claude]\nkind = "anthropic"\nmodel = "claude-x"\nbase_url = "{server.url}"\n'
                       f'api_key_env = "FORGE_TEST_CLAUDE_KEY"\nmax_retries = {retries}\n')
    return AnthropicEngine(cfg.get("claude"))


LONG_ARCHIVE = "archive: " + "decision text " * 300


def test_streams_records_usage_and_caches_the_system_block(claude):
    engine = engine_for(claude)
    pieces: list[str] = []
    request = GenerationRequest([{"role": "system", "content": LONG_ARCHIVE}, {"role": "user", "content": "hi"}])
    result = engine.generate(request, pieces.append, threading.Event())
    assert result.finish == "stop" and result.text == "Hello from Claude." == "".join(pieces)
    assert result.tokens == 4 and result.prompt_tokens == 12 + 30 + 5
    assert (result.cache_read_tokens, result.cache_write_tokens) == (30, 5)
    sent = claude.requests[-1]
    assert sent["body"]["system"][0]["cache_control"] == {"type": "ephemeral"}
    assert sent["body"]["messages"] == [{"role": "user", "content": "hi"}]
    assert engine.kind == "anthropic" and engine.n_ctx == 200_000


def test_error_event_mid_reply_keeps_partial_text(claude):
    claude.mode = "midway_error"
    result = engine_for(claude).generate(GenerationRequest([{"role": "user", "content": "hi"}]),
                                         lambda _: None, threading.Event())
    assert result.finish == "error" and result.text == "Hello from"
    assert "Overloaded" in result.error and "partial reply is kept" in result.error
    assert not result.backend_failed


@pytest.mark.parametrize("mode, fragment", [("401", "set FORGE_TEST_CLAUDE_KEY"), ("429", "429 (rate limited)"),
                                            ("529", "529 (overloaded)")])
def test_refusals_name_the_fix(claude, mode, fragment):
    claude.mode = mode
    result = engine_for(claude).generate(GenerationRequest([{"role": "user", "content": "hi"}]),
                                         lambda _: None, threading.Event())
    assert result.finish == "error" and result.backend_failed and fragment in result.error
    assert SECRET not in result.error


def test_429_is_retried_when_allowed(claude):
    claude.mode = "529"
    engine = engine_for(claude, retries=1)
    engine.generate(GenerationRequest([{"role": "user", "content": "hi"}]), lambda _: None, threading.Event())
    assert len(claude.requests) == 2


def test_cancel_closes_the_stream(claude):
    claude.mode = "slow"
    cancel = threading.Event()
    seen: list[str] = []

    def on_piece(piece: str) -> None:
        seen.append(piece)
        cancel.set()

    result = engine_for(claude).generate(GenerationRequest([{"role": "user", "content": "hi"}]), on_piece, cancel)
    assert result.finish == "cancelled" and result.text == "Hello" and result.error is None


def test_missing_key_variable_names_it(monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    cfg = parse_models('[models.c]\nkind = "anthropic"\nmodel = "claude-x"\n')
    engine = AnthropicEngine(cfg.get("c"))
    with pytest.raises(EngineError, match="ANTHROPIC_API_KEY, which is not set.*export ANTHROPIC_API_KEY"):
        engine.wait_ready()
    result = engine.generate(GenerationRequest([{"role": "user", "content": "hi"}]), lambda _: None, threading.Event())
    assert result.finish == "error" and "ANTHROPIC_API_KEY" in result.error


def test_roles_alternate_and_start_with_the_user():
    system, turns = to_claude([{"role": "system", "content": "s"}, {"role": "assistant", "content": "a"},
                               {"role": "assistant", "content": "b"}, {"role": "user", "content": "u"}])
    assert system == [{"type": "text", "text": "s"}]  # short: not worth a cache write
    assert [t["role"] for t in turns] == ["user", "assistant", "user"] and turns[1]["content"] == "a\n\nb"
