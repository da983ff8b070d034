"""Embedding migration: compare two models, re-embed resumably, switch only when complete."""

from __future__ import annotations

import pytest

from forge_tui.config import EmbeddingSpec
from forge_tui.search.embedder import Embedder
from forge_tui.search.hybrid import SearchService
from forge_tui.search.migration import MigrationError, compare_models, embedding_status, jaccard, reembed
from forge_tui.search.pipeline import EmbeddingPipeline
from forge_tui.store.vectors import vector_doc

pytestmark = pytest.mark.slow


def test_jaccard():
    assert jaccard(["a", "b"], ["b", "a"]) == 1.0
    assert jaccard(["a", "b"], ["b", "c"]) == pytest.approx(1 / 3)


def test_a_model_against_itself_overlaps_fully(corpus_store, minilm):
    store, _ = corpus_store
    twin = Embedder(EmbeddingSpec(model=minilm.name))
    report = compare_models(store, minilm, twin, queries=8)
    assert len(report.per_query) == 8 and report.corpus_size == 52
    assert report.mean_overlap == 1.0 and all(q.overlap == 1.0 for q in report.per_query)
    assert all(len(q.top_a) == 5 for q in report.per_query)


def test_two_different_models_report_per_query_overlap(corpus_store, minilm, projected_model):
    store, _ = corpus_store
    report = compare_models(store, minilm, projected_model, queries=10, seed=3)
    assert len(report.per_query) == 10
    assert 0.0 <= report.mean_overlap < 1.0
    assert all(0.0 <= q.overlap <= 1.0 for q in report.per_query)


def test_compare_on_an_empty_store_says_what_to_do(store, minilm):
    with pytest.raises(MigrationError, match="no messages"):
        compare_models(store, minilm, minilm)


def test_interrupted_reembed_resumes_and_switches_only_when_complete(corpus_store, minilm, projected_model):
    store, _ = corpus_store
    vectors = store.vectors
    assert EmbeddingPipeline(store, minilm).embed_pending() == 52
    assert vectors.active_model()["model"] == minilm.name

    # interrupted after the first batch (a callback, as Ctrl-C between batches would)
    calls = []
    first = reembed(store, projected_model, should_stop=lambda: any(calls),
                    on_progress=lambda d, t: calls.append(d), chunk_size=16)
    assert first.embedded == 16 and first.remaining == 52 - first.embedded and not first.switched
    assert vectors.active_model()["model"] == minilm.name  # nothing switched yet

    second = reembed(store, projected_model, limit=10)  # a second interruption, by limit
    assert second.embedded == 10 and not second.switched

    last = reembed(store, projected_model)
    assert last.complete and last.switched and last.previous == minilm.name
    assert first.embedded + second.embedded + last.embedded == 52
    assert vectors.active_model() == {**vectors.active_model(), "model": projected_model.name, "dim": 128}
    counts = {m["model"]: (m["count"], m["dims"]) for m in vectors.models()}
    assert counts == {minilm.name: (52, [384]), projected_model.name: (52, [128])}  # old vectors kept

    again = reembed(store, projected_model)
    assert again.embedded == 0 and not again.switched


def test_dimension_change_names_the_fix_and_search_keeps_working(corpus_store, minilm, projected_model):
    store, keys = corpus_store
    EmbeddingPipeline(store, minilm).embed_pending()
    reembed(store, projected_model)  # active is now the 128-d model
    stale = SearchService(store, minilm).search_with_notes("snails eating my salad plants", limit=5)
    assert any("reembed --model " + minilm.name in n for n in stale.notes)
    assert stale.hits  # still answers with the consistent vectors (MiniLM's own) and keywords
    fresh = SearchService(store, projected_model).search_with_notes("metaldehyde", limit=5)
    assert fresh.notes == [] and fresh.hits[0].message_id == keys["slug-control"]


def test_vectors_of_the_wrong_dimension_are_skipped_and_reported(corpus_store, minilm, projected_model):
    store, keys = corpus_store
    pipeline = EmbeddingPipeline(store, minilm)
    pipeline.embed_pending()
    # a corrupt batch: 128-d vectors labelled as MiniLM's
    doc = store.db.messages.find_one({"_id": keys["slug-control"]})
    store.vectors.write([vector_doc(doc, minilm.name, projected_model.embed([doc["content"]])[0])])
    result = SearchService(store, minilm).search_with_notes("garden pests", limit=5)
    assert any("128 dimensions" in n and "reembed" in n for n in result.notes)
    assert result.hits
    # the pipeline re-embeds the bad vector on its next full pass
    assert EmbeddingPipeline(store, minilm).embed_pending(full_scan=True) == 1


def test_status_counts_models_and_messages(corpus_store, minilm):
    store, _ = corpus_store
    EmbeddingPipeline(store, minilm).embed_pending(limit=20)
    status = embedding_status(store, minilm.name)
    assert status.messages == 52 and status.active is None
    assert status.line_for(minilm.name)["count"] == 20


def test_vectors_from_before_passages_keep_serving_and_are_replaced(corpus_store, minilm):
    """Vectors of bare turn text (written before passages with the speaker) stay usable for search
    (same model, same space) while the pipeline counts them as pending and re-embedding replaces them."""
    from forge_tui.search.message_feed import FIELDS, is_final

    store, keys = corpus_store
    docs = [d for d in store.db.messages.find({}, FIELDS) if is_final(d)]
    legacy = minilm.embed([d["content"] for d in docs])
    store.vectors.write([vector_doc(d, minilm.name, v) for d, v in zip(docs, legacy)])
    pipeline = EmbeddingPipeline(store, minilm)
    assert pipeline.pending() == len(docs)  # their fingerprints are not the passages'
    result = SearchService(store, minilm).search_with_notes("snails eating my salad plants", mode="semantic")
    assert result.semantic and keys["slugs"] in [h.message_id for h in result.hits[:5]]
    report = reembed(store, minilm)
    assert report.embedded == len(docs) and report.remaining == 0
    assert store.vectors.count(minilm.name) == len(docs)  # replaced in place, not added
