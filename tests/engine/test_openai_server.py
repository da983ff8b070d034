"""The OpenAI engine against a real OpenAI-compatible server (llama_cpp.server + SmolLM2):
streaming, usage, grammar and JSON-schema structured output, cancellation, timeout, wrong
model, and the server dying mid-reply. Few tests, one shared server."""

from __future__ import annotations

import threading
import time

import pytest

from forge_tui.config import parse_models
from forge_tui.engine.base import EngineError, GenerationRequest
from forge_tui.engine.openai_engine import OpenAIEngine
from forge_tui.knowledge.decide import DECISION_OPTIONS, decide

pytestmark = pytest.mark.slow

CANDIDATE = "Message (user): Let's use Postgres for storage.\nCandidate: Let's use Postgres for storage."


def engine(server, model: str = "smollm2", structured: str = "grammar", read_timeout: float = 120) -> OpenAIEngine:
    cfg = parse_models(f'[models.local]\nkind = "openai"\nbase_url = "{server.base_url}"\nmodel = "{model}"\n'
                       f'structured = "{structured}"\nread_timeout = {read_timeout}\nn_ctx = 2048\n')
    return OpenAIEngine(cfg.get("local"))


def ask(text: str, max_tokens: int = 12) -> GenerationRequest:
    return GenerationRequest([{"role": "user", "content": text}], max_tokens=max_tokens, temperature=0.0)


def test_streams_pieces_and_counts_tokens(llama_server):
    eng = engine(llama_server)
    eng.wait_ready()
    pieces: list[str] = []
    result = eng.generate(ask("Say hello."), pieces.append, threading.Event())
    assert result.finish in ("stop", "length") and result.error is None
    assert len(pieces) > 1 and "".join(pieces) == result.text
    assert result.tokens == len(pieces)  # no usage in this server's streams: counted, one chunk per token
    assert result.prompt_tokens > 0


@pytest.mark.parametrize("structured", ["grammar", "json_object"])
def test_decide_is_constrained_and_validated(llama_server, structured):
    answer = decide(engine(llama_server, structured=structured), CANDIDATE, DECISION_OPTIONS)
    assert set(answer) == {"text", "rationale", "tier", "priority"}  # decide() validated it


def test_cancel_mid_stream_closes_it_and_the_server_moves_on(llama_server):
    eng = engine(llama_server)
    cancel = threading.Event()
    seen: list[str] = []

    def on_piece(piece: str) -> None:
        seen.append(piece)
        if len(seen) == 3:
            cancel.set()

    result = eng.generate(ask("Write a long story about a fox.", max_tokens=400), on_piece, cancel)
    assert result.finish == "cancelled" and result.error is None and len(seen) <= 4
    started = time.monotonic()
    again = eng.generate(ask("Say hi.", max_tokens=4), lambda _: None, threading.Event())
    assert again.finish in ("stop", "length") and time.monotonic() - started < 30


def test_cancel_during_prompt_processing_returns_at_once(llama_server):
    """llama_cpp.server sends no headers until the prompt is processed: Esc must not wait for it."""
    eng = engine(llama_server)
    eng.wait_ready()
    cancel = threading.Event()
    threading.Timer(0.1, cancel.set).start()
    started = time.monotonic()
    result = eng.generate(ask("Summarise: " + "a fox runs past the old mill by the river. " * 30), lambda _: None,
                          cancel)
    assert result.finish == "cancelled" and time.monotonic() - started < 2.0
    again = eng.generate(ask("Say hi.", max_tokens=4), lambda _: None, threading.Event())
    assert again.finish in ("stop", "length")


def test_wrong_model_name_lists_what_the_server_has(llama_server):
    eng = engine(llama_server, model="no-such-model")
    with pytest.raises(EngineError, match="has no model 'no-such-model'. It serves: smollm2"):
        eng.wait_ready()


def test_read_timeout_is_reported_with_the_fix(llama_server):
    eng = engine(llama_server, read_timeout=0.2)
    long_prompt = "Summarise: " + "the quick brown fox jumps over the lazy dog. " * 40
    result = eng.generate(ask(long_prompt, max_tokens=4), lambda _: None, threading.Event())
    assert result.finish == "error" and result.backend_failed, result
    assert "did not answer within 0.2 s" in result.error and "read_timeout" in result.error, result
    # the server still works through the abandoned prompt: let it finish before the next test
    drained = engine(llama_server).generate(ask("Say hi.", max_tokens=2), lambda _: None, threading.Event())
    assert drained.finish in ("stop", "length")


def test_server_killed_mid_reply_keeps_the_partial_text(llama_server):
    """Last in the file: it kills the shared server (the fixture restarts it if needed)."""
    eng = engine(llama_server)
    seen: list[str] = []

    def on_piece(piece: str) -> None:
        seen.append(piece)
        if len(seen) == 3:
            llama_server.kill()

    result = eng.generate(ask("Write a long story about a fox.", max_tokens=400), on_piece, threading.Event())
    assert result.finish == "error" and not result.backend_failed, result
    assert result.text == "".join(seen) and len(seen) >= 3
    assert "mid-reply" in result.error and "partial reply is kept" in result.error
