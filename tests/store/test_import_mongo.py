"""`forge import mongo`: a legacy Forge OS database on the same server, copied into Forge."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

import pytest

from forge_tui.importers.legacy_mongo import LegacyImportError, import_forge_os, import_legacy_db
from forge_tui.store.legacy_source import LegacySource


@pytest.fixture
def legacy(mongo_client):
    name = "legacy_" + uuid.uuid4().hex[:10]
    db = mongo_client[name]
    t0 = datetime(2024, 1, 5, 9, 0, tzinfo=timezone.utc)
    db.conversations.insert_many([
        {"_id": "conv-a", "title": "Auth service", "project": "forge-os", "created_at": t0},
        {"_id": "conv-b", "title": "Auth, part 2", "project": "forge-os", "created_at": t0.replace(day=6)},
        {"_id": "conv-empty", "title": "Nothing here", "project": "forge-os", "created_at": t0},
    ])
    db.message_embeddings.insert_many([
        {"conversation_id": "conv-a", "role": "user", "content": "Use JWT or sessions?", "timestamp": t0,
         "seq": 0, "embedding": [0.1, 0.2], "model_name": "ada"},
        {"conversation_id": "conv-a", "role": "assistant", "content": "Sessions: simpler revocation.",
         "timestamp": t0.replace(minute=1), "seq": 1, "embedding": [0.3, 0.4], "model_name": "ada"},
        {"conversation_id": "conv-a", "role": "assistant", "content": "", "timestamp": t0.replace(minute=2), "seq": 2},
        {"conversation_id": "conv-b", "role": "human", "content": "Continue auth work", "timestamp": t0.replace(day=6),
         "seq": 0},
    ])
    db.decisions.insert_many([
        {"id": "D001", "decision": "Use server-side sessions for auth", "rationale": "simpler revocation",
         "tier": 0.9, "priority": "critical", "status": "active", "project": "forge-os"},
        {"id": "D002", "decision": "Maybe try passkeys later", "rationale": "nice to have", "tier": 0.2,
         "status": "active", "project": "forge-os"},
    ])
    db.threads.insert_many([
        {"id": "T001", "title": "Session store choice", "status": "OPEN", "project": "forge-os"},
        {"id": "T002", "title": "OAuth providers", "status": "ABANDONED", "project": "forge-os"},
    ])
    db.lineage.insert_many([
        {"source": "conv-a", "target": "conv-b", "type": "continued_in"},
        {"source": "conv-a", "target": "somewhere-else", "type": "archived_to"},
    ])
    db.usage_stats.insert_one({"day": "2024-01-05", "tokens": 1234})
    yield db
    mongo_client.drop_database(name)


def test_legacy_database_maps_and_reports(store, legacy, mongo_uri):
    report = import_forge_os(store, mongo_uri, db_name=legacy.name)
    s = report.summary
    assert (s.conversations, s.messages) == (2, 3)
    assert ("legacy conversation conv-empty", "no messages in the legacy database") in s.skipped
    assert any(r == "message has no text" for _, r in s.skipped)
    convs = {c.title: c for c in store.list_conversations("forge-os")}
    assert set(convs) == {"Auth service", "Auth, part 2"}
    turns = store.turns(convs["Auth service"].id)
    assert [t.role.value for t in turns] == ["user", "assistant"]
    assert turns[0].created_at == datetime(2024, 1, 5, 9, 0, tzinfo=timezone.utc)
    edges = store.edges_from(convs["Auth service"].id, "continued_in")
    assert [e["dst"] for e in edges] == [convs["Auth, part 2"].id]
    text = "\n".join(report.not_mapped)
    assert "usage_stats" in text and "embedding vector" in text and "model_name" in text
    assert "1 edge(s) whose ends are not imported" in text
    decisions = {d["text"]: d for d in store.db.decisions.find({"project": "forge-os"})}
    assert decisions["Use server-side sessions for auth"]["rationale"] == "simpler revocation"
    assert decisions["Use server-side sessions for auth"]["priority"] == "high"
    threads = {t["title"]: t["status"] for t in store.db.threads.find({"project": "forge-os"})}
    assert threads == {"Session store choice": "OPEN", "OAuth providers": "ABANDONED"}

    again = import_forge_os(store, mongo_uri, db_name=legacy.name)
    assert (again.summary.conversations, again.summary.messages, again.summary.unchanged) == (0, 0, 2)
    assert store.db.decisions.count_documents({}) == 2 and store.db.threads.count_documents({}) == 2
    assert all(n == 0 for n in again.knowledge.values())


def test_project_override(store, legacy):
    report = import_legacy_db(store, LegacySource(legacy), project="mine")
    assert report.summary.conversations == 2
    assert store.projects() == ["mine"]


def test_wrong_database_is_a_clear_error(store, mongo_uri, mongo_client):
    with pytest.raises(LegacyImportError, match="--db NAME"):
        import_forge_os(store, mongo_uri, db_name="no_such_db_" + uuid.uuid4().hex[:6])


def test_unreachable_server_is_a_clear_error(store):
    with pytest.raises(LegacyImportError, match="Cannot reach the MongoDB server"):
        import_forge_os(store, "mongodb://127.0.0.1:1/?directConnection=true", db_name="x", timeout_ms=300)
