"""Retrieval into sessions: decisions, constraints and archive excerpts by relevance, within a budget."""

from __future__ import annotations

import pytest
import yaml

from forge_tui.search.retrieval import approx_tokens, retrieve_context

DECISIONS = [
    {"_id": "d1", "project": "webshop", "id": "D001", "status": "active", "priority": "high", "tier": 0.9,
     "text": "Store every price as integer cents, never floats", "rationale": "rounding errors in invoices"},
    {"_id": "d2", "project": "webshop", "id": "D002", "status": "superseded", "priority": "high",
     "text": "Store prices as floats with two decimals", "rationale": "simple"},
    {"_id": "d3", "project": "garden", "id": "D001", "status": "active", "priority": "medium",
     "text": "No slug pellets: hedgehogs live in the garden", "rationale": ""},
    {"_id": "d4", "project": "billing", "id": "D001", "status": "active", "priority": "critical",
     "text": "Currency amounts are integer minor units (cents) in every service", "rationale": "audit"},
    {"_id": "d5", "project": "secret", "id": "D001", "status": "active", "priority": "critical",
     "text": "Invoice totals use integer cents and banker's rounding", "rationale": "sandboxed client work"},
    {"_id": "junk1", "project": "webshop", "text": None},
    {"_id": "junk2", "text": "no project"},
]

ARCHIVE = {
    "schema": 1,
    "header": {"project": "webshop"},
    "decisions": [{"id": "D001", "text": "Checkout totals are computed server-side only", "status": "active"}],
    "threads": [{"id": "T001", "title": "Refund flow for partial shipments", "status": "OPEN"}],
    "constraints": [{"quote": "Never round before the final invoice total.", "priority": "critical"}],
    "continuation_prompt": "We are building the webshop checkout; prices are integer cents.",
}


@pytest.fixture
def knowledge(store):
    store.db["decisions"].insert_many([dict(d) for d in DECISIONS])
    store.db.archives.insert_one({"_id": "a1", "project": "webshop", "data": ARCHIVE})
    store.db.archives.insert_one({"_id": "a2", "project": "webshop", "yaml": yaml.safe_dump(
        {"constraints": [{"quote": "Don't add dependencies without asking me.", "priority": "high"}]})})
    store.db.archives.insert_one({"_id": "a3", "project": "webshop", "yaml": "::: not yaml [", "data": None})
    return store


def _sources(items):
    return [i.source for i in items]


@pytest.mark.slow
def test_relevant_active_items_same_project_first(knowledge, minilm):
    items = retrieve_context(knowledge, minilm, "webshop", "How should we round the invoice total for prices?",
                             budget_tokens=400, sandboxed_projects=["secret"])
    sources = _sources(items)
    assert "webshop/D001" in sources and "webshop/D002" not in sources  # superseded is not offered
    assert "archive:a1/constraints[0]" in sources
    assert not any(s.startswith("secret/") for s in sources)  # sandboxed project stays home
    assert "garden/D001" not in sources  # unrelated and from elsewhere
    assert items[0].project == "webshop"
    order = {"constraint": 0, "decision": 1, "archive_excerpt": 2, "message": 3}
    assert [order[i.kind] for i in items] == sorted(order[i.kind] for i in items)  # constraints, decisions first
    for kind in order:
        scores = [i.score for i in items if i.kind == kind]
        assert scores == sorted(scores, reverse=True)
    assert all(i.why.startswith(f"{i.project} · ") and "score" in i.why for i in items)
    kinds = {i.kind for i in items}
    assert {"decision", "constraint"} <= kinds
    assert all(i.tokens == approx_tokens(i.text) for i in items)


@pytest.mark.slow
def test_cross_project_items_when_clearly_relevant(knowledge, minilm):
    items = retrieve_context(knowledge, minilm, "newproject", "Currency amounts as integer cents in our services",
                             budget_tokens=400, sandboxed_projects=["secret"])
    assert "billing/D001" in _sources(items)
    inside = retrieve_context(knowledge, minilm, "secret", "Currency amounts as integer cents in our services",
                              budget_tokens=400, sandboxed_projects=["secret"])
    assert "secret/D001" in _sources(inside)  # a sandboxed project still sees its own


@pytest.mark.slow
def test_token_budget_is_respected(knowledge, minilm):
    items = retrieve_context(knowledge, minilm, "webshop", "invoice rounding and prices in cents",
                             budget_tokens=30, sandboxed_projects=[], count_tokens=lambda t: len(t.split()))
    assert items and sum(i.tokens for i in items) <= 30
    assert retrieve_context(knowledge, minilm, "webshop", "prices", budget_tokens=0, sandboxed_projects=[]) == []


def test_works_without_an_embedder_lexically(knowledge):
    items = retrieve_context(knowledge, None, "garden", "slug pellets and hedgehogs", budget_tokens=200,
                             sandboxed_projects=[])
    assert _sources(items)[0] == "garden/D001"


def test_empty_store_and_empty_opening(store):
    assert retrieve_context(store, None, "p", "anything", 100, []) == []
    assert retrieve_context(store, None, "p", "   ", 100, []) == []


@pytest.mark.slow
def test_reads_the_knowledge_registry(store, minilm):
    from forge_tui.knowledge.registry import Registry

    registry = Registry(store)
    registry.record_decision("webshop", "Use PostgreSQL for orders, not MongoDB", rationale="joins")
    items = retrieve_context(store, minilm, "webshop", "which database stores the orders?", 200, [],
                             registry=registry)
    assert items and items[0].kind == "decision" and "PostgreSQL" in items[0].text


def test_trivial_turns_are_not_worth_their_tokens():
    from forge_tui.search.retrieval import is_trivial

    for text in ("hi again", "Thanks!", "ok, great", "Hey Mel! Good to see you!", "yes please", "   "):
        assert is_trivial(text), text
    for text in ("Use port 8080 for the API gateway", "The invoice totals are rounded once, at the end"):
        assert not is_trivial(text), text


def _conversation(store, project, title, texts, when):
    from datetime import timedelta

    from forge_tui.domain.ids import conversation_id, message_id
    from forge_tui.domain.models import Conversation, Role, Turn

    cid = conversation_id(project, title, when)
    turns = [Turn(id=message_id(cid, str(i), when + timedelta(seconds=i)), conversation_id=cid, seq=i,
                  role=Role.USER if i % 2 == 0 else Role.ASSISTANT, content=t,
                  created_at=when + timedelta(seconds=i), updated_at=when + timedelta(seconds=i))
             for i, t in enumerate(texts)]
    store.write_conversation_whole(Conversation(id=cid, project=project, title=title, created_at=when,
                                                updated_at=when), turns)
    return cid, [t.id for t in turns]


def test_earlier_turns_come_from_the_search_ranking_without_noise_or_repeats(knowledge):
    from datetime import datetime, timezone

    from forge_tui.search.hybrid import SearchService

    when = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
    _, ids = _conversation(knowledge, "webshop", "rounding", [
        "hi again",
        "Invoice rounding: we round the invoice total once, half-even, after summing integer cents.",
        "Refund rounding for partial shipments follows the same invoice total rule.",
        "thanks!",
    ], when)
    _conversation(knowledge, "garden", "slugs", ["hi again", "Slugs ate the lettuce; beer traps worked."], when)
    search = SearchService(knowledge, None)
    already = "Refund rounding for partial shipments follows the same invoice total rule."
    items = retrieve_context(knowledge, None, "webshop", "how do we round the invoice total", budget_tokens=600,
                             search=search, in_context=[already])
    messages = [i for i in items if i.kind == "message"]
    assert [i.source for i in messages] == [f"message:{ids[1]}"]  # no greeting, no repeat of the context
    assert messages[0].why.startswith("webshop · 2026-03-02 · search match (keyword)")
    kinds = [i.kind for i in items]
    assert kinds.index("message") > max(k for k, kind in enumerate(kinds) if kind != "message")
    texts = [i.text for i in items]
    assert len(texts) == len(set(texts))


def test_a_request_recorded_as_a_decision_is_not_offered():
    from forge_tui.search.retrieval import looks_like_request

    for text in ("Write me a script that rounds invoice totals", "Can you list the rounding rules?",
                 "D004: please summarise the invoice thread (why: asked)", "Should totals round per line?"):
        assert looks_like_request(text), text
    for text in ("Store every price as integer cents, never floats", "D001: Round once, at the end (why: audit)"):
        assert not looks_like_request(text), text
