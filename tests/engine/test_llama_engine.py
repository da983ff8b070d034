"""LlamaEngine implements the whole KnowledgeEngine interface: loading, readiness,
counting, generation under a GBNF grammar or a JSON schema, closing. Real SmolLM2."""

from __future__ import annotations

import json
import threading
from dataclasses import replace

import pytest

from forge_tui.config import REPO_ROOT, load_models
from forge_tui.engine.base import EngineError, GenerationRequest, KnowledgeEngine
from forge_tui.engine.llama_engine import LlamaEngine

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    models = load_models(REPO_ROOT / "models.toml")
    spec = replace(models.get("smollm2"), n_ctx=1024, n_threads=1)
    engine: KnowledgeEngine = LlamaEngine(spec, cache_dir=tmp_path_factory.mktemp("cache"))
    assert not engine.ready and engine.load_seconds is None
    engine.start_loading()
    engine.wait_ready(120)
    yield engine
    engine.close()


def test_loading_readiness_and_counting(engine):
    assert engine.ready and engine.load_seconds and engine.load_seconds > 0
    assert engine.model_name == "smollm2" and engine.n_ctx == 1024
    words = engine.count_text_tokens("hello world")
    assert 1 <= words <= 4
    assert engine.count_tokens([{"role": "user", "content": "hello world"}]) > words  # the template adds tokens


def test_generation_under_a_json_schema_is_valid_json(engine):
    schema = {"type": "object", "properties": {"answer": {"type": "string", "maxLength": 20},
                                                "confident": {"type": "boolean"}},
              "required": ["answer", "confident"]}
    pieces: list[str] = []
    result = engine.generate(
        GenerationRequest(messages=[{"role": "user", "content": "Is the sky blue? Answer in JSON."}],
                          max_tokens=60, temperature=0.0, json_schema=schema),
        pieces.append, threading.Event())
    assert result.finish == "stop", result
    data = json.loads(result.text)
    assert set(data) == {"answer", "confident"} and isinstance(data["confident"], bool)
    assert "".join(pieces) == result.text


def test_generation_under_a_grammar(engine):
    result = engine.generate(
        GenerationRequest(messages=[{"role": "user", "content": "Yes or no?"}], max_tokens=8,
                          temperature=0.0, grammar='root ::= "yes" | "no"'),
        lambda _p: None, threading.Event())
    assert result.text in ("yes", "no")


def test_a_request_takes_a_grammar_or_a_schema_not_both():
    with pytest.raises(ValueError, match="not both"):
        GenerationRequest(messages=[], grammar="root ::= \"a\"", json_schema={"type": "string"})


def test_a_missing_model_file_is_an_engine_error_naming_the_fix(tmp_path):
    models = load_models(REPO_ROOT / "models.toml")
    spec = replace(models.get("smollm2"), path=str(tmp_path / "nope.gguf"))
    engine = LlamaEngine(spec, cache_dir=tmp_path)
    with pytest.raises(EngineError):
        engine.wait_ready(30)
    assert not engine.ready
    engine.close()
