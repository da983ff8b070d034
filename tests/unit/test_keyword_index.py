"""The in-process BM25 keyword index, snippets and rank fusion (pure, no database)."""

from __future__ import annotations

import pytest

from forge_tui.search.fusion import Ranking, fuse
from forge_tui.search.keyword_index import KeywordIndex, stem, term_spans, terms
from forge_tui.search.snippets import make_snippet, mark


def test_terms_drop_stopwords_and_stem():
    assert terms("The indexes are rebuilding; indexing INDEX") == ["index", "rebuild", "index", "index"]
    assert stem("queries") == "query" and stem("cats") == "cat" and stem("is") == "is"


def test_bm25_ranks_rare_term_matches_first():
    idx = KeywordIndex()
    idx.add("a", "the journal filled the disk; set SystemMaxUse in journald.conf", "homelab")
    idx.add("b", "the disk is full again and the disk is slow", "homelab")
    idx.add("c", "tomato seedlings need light", "garden")
    hits = idx.search("SystemMaxUse disk")
    assert [h.doc_id for h in hits][:2] == ["a", "b"]
    assert all(h.doc_id != "c" for h in hits)  # no matching term, no hit


def test_project_filter_and_unknown_project():
    idx = KeywordIndex()
    idx.add("a", "compost heap smells", "garden")
    idx.add("b", "compost the logs", "homelab")
    assert [h.doc_id for h in idx.search("compost", project="garden")] == ["a"]
    assert idx.search("compost", project="nowhere") == []


def test_re_adding_a_document_replaces_it():
    idx = KeywordIndex()
    idx.add("a", "draft about apples")
    idx.add("a", "final text about pears")
    assert len(idx) == 1
    assert idx.search("apples") == []
    assert [h.doc_id for h in idx.search("pears")] == ["a"]


def test_limit_and_empty_queries():
    idx = KeywordIndex()
    for i in range(30):
        idx.add(str(i), f"shared word number{i}")
    assert len(idx.search("shared", limit=7)) == 7
    assert idx.search("the of and") == []
    assert KeywordIndex().search("anything") == []


def test_spans_point_at_matched_words():
    text = "Use select_related and prefetch the Categories"
    spans = term_spans(text, set(terms("category prefetching")))
    assert [text[s:e] for s, e in spans] == ["prefetch", "Categories"]


def test_snippet_windows_on_the_match_and_marks_it():
    content = "filler " * 80 + "the beer trap caught twenty slugs " + "filler " * 80
    snippet, spans = make_snippet(content, "slugs trap", width=120)
    assert snippet.startswith("…") and snippet.endswith("…")
    assert len(snippet) <= 125
    assert {snippet[s:e] for s, e in spans} == {"trap", "slugs"}
    assert "«slugs»" in mark(snippet, spans)


def test_snippet_without_match_is_the_opening():
    snippet, spans = make_snippet("short message", "unrelated")
    assert snippet == "short message" and spans == []


def test_fusion_rewards_agreement_and_standardises_each_half():
    semantic = Ranking.from_list("semantic", [("a", 0.9), ("b", 0.8), ("c", 0.1)])
    keyword = Ranking.from_list("keyword", [("b", 12.0), ("d", 3.0)])
    fused = fuse([semantic, keyword], semantic_weight=0.5)
    assert max(fused, key=fused.get) == "b"
    assert set(fused) == {"a", "b", "c", "d"}
    # one half alone keeps its own order
    only = fuse([keyword])
    assert sorted(only, key=only.get, reverse=True) == ["b", "d"]
    assert fuse([]) == {}


def test_bm25_statistics_are_the_projects_own():
    idx = KeywordIndex()
    # "caroline" is rare overall but in every turn of project p: inside p it is no evidence
    for i in range(5):
        idx.add(f"p{i}", f"caroline said something about topic{i}", "p")
    for i in range(50):
        idx.add(f"q{i}", f"unrelated words number{i}", "q")
    hits = idx.search("caroline topic3", project="p")
    assert hits[0].doc_id == "p3"
    assert hits[0].score > 2 * hits[1].score
