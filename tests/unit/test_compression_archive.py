"""Archives without a model: the deterministic floor, the budget rule, key statements,
continuation prose, long sessions in steps (real SecantusDB, no llama.cpp)."""

from __future__ import annotations

import threading

import pytest

from forge_tui.compression import CompressionError, compress
from forge_tui.compression.facts import choose, clauses, key_statements
from forge_tui.compression.continuation import continuation_prose, vet_briefing
from forge_tui.compression.service import RULES_ONLY, approx_tokens
from forge_tui.protocol.validate import validate_archive

from stored_sessions import store_session

EXPLAIN = ("An LRU cache evicts the least recently used entry first, which suits a catalogue whose hot "
           "set changes slowly over the day; the eviction cost stays constant and memory stays bounded. ")
SESSION = [
    ("user", "We need a cache for the pricing API. Never cache responses for more than 300 seconds."),
    ("assistant", "Let's go with Redis for the cache. The client goes in src/pricing/cache.py.\n\n```yaml\n"
                  "cache:\n  maxsize: 2048\n  ttl_seconds: 300\n```"),
    ("user", "Open question: should we share the cache between workers? Also the host is 10.0.3.17, port 6380."),
    ("assistant", "Noted: host 10.0.3.17, port 6380. Sharing between workers needs a separate process. " + EXPLAIN * 2),
    ("user", "Actually, switch to an in-process LRU cache instead of Redis; we have no Redis in prod."),
    ("assistant", "Switched to an in-process LRU (cachetools 5.3.3) with maxsize 4096 in src/pricing/cache.py. " + EXPLAIN * 3),
]


def _store_session(store, pairs, title="Pricing cache") -> str:
    return store_session(store, pairs, "p", title)


def test_without_a_model_the_archive_is_valid_and_keeps_the_final_values(store):
    cid = _store_session(store, SESSION)
    result = compress(store, None, cid, budget_tokens=1200)
    archive = result.archive
    assert validate_archive(archive) == []
    assert result.tokens_archive <= result.tokens_source
    assert archive["header"]["model"] == RULES_ONLY and result.model_note == ""
    body = result.yaml_text.lower()
    for fact in ("src/pricing/cache.py", "10.0.3.17", "6380", "4096", "300 seconds"):
        assert fact.lower() in body, fact
    assert any(c["quote"].startswith("Never cache") for c in archive["constraints"])
    assert [t for t in archive["threads"] if t["status"] == "OPEN"]
    # sources name the turn in the conversation, compactly
    assert all(s.startswith("m") for d in archive["decisions"] for s in d["sources"])


def test_a_default_archive_is_at_most_half_its_source(store):
    long_session = SESSION * 8
    cid = _store_session(store, long_session, "Long")
    result = compress(store, None, cid, budget_tokens=5000)
    assert result.tokens_archive <= result.tokens_source * 0.5 + 8
    lossless = compress(store, None, cid, mode="lossless")
    body = lossless.yaml_text
    assert all(fact in body for fact in ("10.0.3.17", "6380", "4096", "cachetools 5.3.3", "maxsize: 2048"))


def test_open_threads_and_constraints_are_kept_before_statements(store):
    cid = _store_session(store, SESSION * 3, "Tight")
    result = compress(store, None, cid, budget_tokens=380)
    archive = result.archive
    assert archive["constraints"], "a constraint is never dropped for a statement"
    assert [t for t in archive["threads"] if t["status"] == "OPEN"]


def test_continuation_prose_says_what_is_decided_open_and_ruled():
    text = continuation_prose(
        "Pricing cache",
        [{"text": "use Redis", "status": "superseded"}, {"text": "in-process LRU with maxsize 4096", "status": "active"}],
        [{"title": "share the cache between workers?", "status": "OPEN"}, {"title": "legacy pricing", "status": "RESOLVED"}],
        [{"quote": "Never cache responses for more than 300 seconds."}],
    )
    assert text.startswith('We are continuing the work on "Pricing cache".')
    assert "The current choice is: in-process LRU with maxsize 4096." in text and "Redis" not in text
    assert "Still open: share the cache between workers?" in text and "legacy" not in text  # answered: not open
    assert "Keep to the rule: Never cache responses for more than 300 seconds." in text


def test_the_briefing_drops_spoken_fillers_from_its_clauses():
    text = continuation_prose("Deploy", [{"text": "ok so - fine, switch to blue/green deploys", "status": "active"}],
                              [], [])
    assert "The current choice is: switch to blue/green deploys." in text


def test_key_statements_skip_covered_text_and_cover_distinct_values():
    turns = [{"id": "m0", "role": "user", "content": "The host is 10.0.3.17. The host is 10.0.3.17 indeed."},
             {"id": "m1", "role": "assistant", "content": "Use port 6380 and maxsize 4096."}]
    stmts = key_statements(turns, covered=["Use port 6380 and maxsize 4096."])
    assert all("6380" not in s.text for s in stmts)
    picked = choose(stmts, 200, approx_tokens)
    assert len([s for s in picked if "10.0.3.17" in s.text]) == 1  # the repeat adds nothing new


def test_long_run_on_sentences_split_at_clauses_so_late_values_survive():
    sentence = ("we have like 60 boards in greenhouses running esp-idf and updating them means walking around "
                "with a usb cable which takes a whole day every time, so mqtt push sounds nice since mosquitto "
                "already runs on 192.168.20.7 for the sensor data and honestly i would rather not touch the boards "
                "again before the tomatoes are in")
    pieces = clauses(sentence)
    assert len(pieces) > 1 and all(len(p) <= 240 for p in pieces)
    assert any("192.168.20.7" in p for p in pieces)


def test_extraction_in_steps_equals_one_pass():
    from forge_tui.compression import service
    from forge_tui.knowledge.pipeline import extract

    turns = [{"id": f"m{i}", "role": r, "content": t} for i, (r, t) in enumerate(SESSION * 50)]
    whole = extract(turns)
    stepped = service._extract_in_chunks(turns, lambda *a: None, threading.Event())
    assert [(c.text, c.status) for c in stepped.decisions] == [(c.text, c.status) for c in whole.decisions]
    assert [(c.text, c.status) for c in stepped.threads] == [(c.text, c.status) for c in whole.threads]
    assert stepped.artifacts == whole.artifacts and stepped.constraints == whole.constraints


def test_a_long_session_reports_progress_and_can_be_cancelled(store):
    from forge_tui.compression import service

    cid = _store_session(store, SESSION * 70, "Very long")  # 420 turns: several extraction steps
    seen: list[tuple[str, int, int]] = []
    result = compress(store, None, cid, on_progress=lambda *a: seen.append(a))
    assert not validate_archive(result.archive)
    assert [s for s in seen if s[0] == "extract"][-1] == ("extract", 420, 420)
    assert len([s for s in seen if s[0] == "extract"]) >= 420 // service.EXTRACT_CHUNK

    cancel = threading.Event()
    cancel.set()
    with pytest.raises(CompressionError, match="cancelled"):
        compress(store, None, cid, cancel=cancel)


def test_the_briefing_cuts_long_items_at_a_word():
    title = "influencer codes: they don't click anything, people type the code at checkout and we count it"
    text = continuation_prose("Attribution", [], [{"title": title, "status": "OPEN"}], [], compact=True)
    clause = text.split("Still open: ", 1)[1]
    assert clause.endswith("…") and clause[:-1] == title[: len(clause) - 1]
    assert title[len(clause) - 1] == " "  # the cut falls between words


def model_continuation(text, vocab, anchors=None, source=""):
    return vet_briefing(text, vocab, anchors, source)[0]


def test_a_model_briefing_that_echoes_the_candidate_list_is_not_used():
    vocab = set("we are moving the parser to a hand written recursive descent parser and keep pest out "
                "let's start with pest to get something working can always rewrite later".split())
    echo = "1. let's start with pest to get something working, can always rewrite later. [OPEN]"
    assert model_continuation(echo, vocab) == ""
    briefing = "We are moving the parser to a hand written recursive descent parser and keep pest out."
    assert model_continuation(briefing, vocab) == briefing


def test_a_model_briefing_that_loops_or_names_nothing_decided_is_not_used():
    vocab = set("we teach intro stats to students glad see that you are taking the first step "
                "moving parser hand written recursive descent keep pest out conversation writing".split())
    loop = ("I'm glad to see that you're taking the first step. I'm glad to see that you're taking the first step. "
            "I'm glad to see that you're taking")
    assert model_continuation(loop, vocab) == ""
    assert model_continuation("Conversation: writing a parser for the config language", vocab) == ""
    unrelated = "We teach intro stats to students and we are glad to see that."
    anchors = ["moving the parser to hand written recursive descent"]
    assert model_continuation(unrelated, vocab, anchors) == ""
    named = "We are moving the parser to hand written recursive descent and keep pest out."
    assert model_continuation(named, vocab, anchors) == named
    opening = "user: We are moving the parser to hand written recursive descent and keep pest out for now, ok?"
    assert model_continuation(named, vocab, anchors, source=opening) == ""  # a copy of a turn
    cut = named + " We teach intro stats to students and"
    assert model_continuation(cut, vocab, anchors) == named  # cut off by its bound: whole sentences only
    assert model_continuation(". " + named, vocab, anchors) == ""
    assert vet_briefing(named, vocab, anchors, opening) == ("", "its briefing copied a turn word for word")
    assert vet_briefing(loop, vocab)[1] == "its briefing repeated itself"
    assert vet_briefing(unrelated, vocab, anchors)[1] == "its briefing named nothing decided or still open"


def test_a_small_wording_budget_asks_the_model_for_the_briefing_only():
    from forge_tui.compression.service import DEFAULT_MAX_TOKENS, model_spec_for

    brief = model_spec_for(5, 3, DEFAULT_MAX_TOKENS)
    assert [f.name for f in brief.fields] == ["continuation_prompt"]
    full = model_spec_for(5, 3, 400)
    assert [f.name for f in full.fields] == ["decisions", "threads", "continuation_prompt"]


def test_the_briefing_names_the_decisions_the_extraction_is_surest_of():
    decisions = [
        {"text": "We use Postgres 16 for the store", "status": "active", "tier": 0.95},
        {"text": "Understood, we will not pursue that for now", "status": "active", "tier": 0.45},
        {"text": "Port 8443 for the admin API", "status": "active", "tier": 0.9},
        {"text": "MySQL for the store", "status": "superseded", "tier": 1.0},
    ]
    text = continuation_prose("Store", decisions, [], [], compact=True)
    assert "The current choices are: We use Postgres 16 for the store; Port 8443 for the admin API." in text
    assert "Understood" not in text and "MySQL" not in text
