"""`forge dataset lora`: chat-format JSONL from the user's own history."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from forge_tui.dataset.lora import build_lora_dataset
from forge_tui.domain.ids import conversation_id, message_id
from forge_tui.domain.models import Conversation, Role, Turn
from forge_tui.importers.claude import parse_claude
from forge_tui.importers.service import import_conversations

EXPORTS = Path(__file__).resolve().parent.parent / "fixtures" / "exports"
T0 = datetime(2026, 2, 1, 12, 0, tzinfo=timezone.utc)


def _coding_conversation(store, project="p"):
    cid = conversation_id(project, "code", T0)
    conv = Conversation(id=cid, project=project, title="Code", created_at=T0, updated_at=T0)
    texts = [
        (Role.USER, "hi there!", []),
        (Role.ASSISTANT, "Hello! How can I help?", []),
        (Role.USER, "How do I read a file lazily?", []),
        (Role.ASSISTANT, "```python\nwith open(p) as fh:\n    for line in fh: ...\n```", ["code_pattern"]),
        (Role.USER, "And a retry decorator?", []),
        (Role.ASSISTANT, "```python\ndef retry(f): ...\n```", ["code_pattern"]),
    ]
    turns = [
        Turn(id=message_id(cid, str(i), T0), conversation_id=cid, seq=i, role=r, content=c, created_at=T0,
             updated_at=T0, labels=labels)
        for i, (r, c, labels) in enumerate(texts)
    ]
    store.write_conversation_whole(conv, turns)
    return turns


def test_dataset_kinds_and_exclusions(store, tmp_path):
    import_conversations(store, parse_claude(EXPORTS / "claude_conversations.json"), project="p")
    turns = _coding_conversation(store)
    store.db.decisions.insert_many([
        {"_id": "d1", "project": "p", "id": "D001", "text": "Use PostgreSQL for the ledger",
         "rationale": "ACID transactions", "tier": 0.9, "priority": "high", "status": "active"},
        {"_id": "d2", "project": "p", "id": "D002", "text": "Maybe try CockroachDB", "rationale": "scale?",
         "tier": 0.2, "priority": "low", "status": "active"},
        {"_id": "d3", "project": "p", "id": "D003", "text": "Use MySQL", "rationale": "familiar", "tier": 0.6,
         "priority": "medium", "status": "rejected"},
        {"_id": "d4", "project": "other", "id": "D001", "text": "Other project", "rationale": "x", "tier": 1.0,
         "priority": "high", "status": "active"},
        {"_id": "d5", "project": "p", "id": "D005", "text": "Use Oracle", "rationale": "misread", "tier": 0.9,
         "priority": "high", "status": "dismissed"},
    ])
    store.db.threads.insert_many([
        {"_id": "t1", "project": "p", "id": "T001", "title": "Nightly batch", "status": "RESOLVED",
         "resolution": "Moved to a queue worker", "sources": []},
        {"_id": "t2", "project": "p", "id": "T002", "title": "Retry everything?", "status": "ABANDONED",
         "sources": [turns[5].id]},
        {"_id": "t3", "project": "p", "id": "T003", "title": "Still open", "status": "OPEN", "sources": []},
        {"_id": "t4", "project": "p", "id": "T004", "title": "Wrongly found", "status": "RESOLVED",
         "resolution": "never asked", "dismissed": True, "sources": []},
    ])
    out = tmp_path / "lora.jsonl"
    summary = build_lora_dataset(store, out, project="p")
    assert dict(summary.counts) == {"compression": 1, "decision": 1, "thread": 1, "code_pattern": 1}
    assert summary.excluded["speculative decisions (tier < 0.3)"] == 1
    assert summary.excluded["rejected decisions"] == 1
    assert summary.excluded["decisions dismissed by hand"] == 1 and summary.excluded["threads dismissed by hand"] == 1
    assert summary.excluded["abandoned threads"] == 1
    assert summary.excluded["code patterns of abandoned threads"] == 1
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 4 and all(set(r) == {"messages"} for r in rows)
    assert all([m["role"] for m in r["messages"]] == ["system", "user", "assistant"] for r in rows)
    compression, decision, thread, code = rows
    assert "archive_id: legacy-state-001" in compression["messages"][2]["content"]
    assert "Which database for the ledger?" in compression["messages"][1]["content"]
    assert "Rationale: ACID transactions" in decision["messages"][2]["content"]
    assert "queue worker" in thread["messages"][2]["content"]
    assert code["messages"][1]["content"] == "How do I read a file lazily?"
    text = out.read_text(encoding="utf-8")
    assert "hi there" not in text and "CockroachDB" not in text and "MySQL" not in text
    assert "Oracle" not in text and "never asked" not in text
    assert summary.tokens > 0
    assert any("compression: 1" in line for line in summary.lines())


def test_custom_tokenizer_and_empty_store(store, tmp_path):
    _coding_conversation(store)
    summary = build_lora_dataset(store, tmp_path / "x.jsonl", tokenizer=lambda s: 1)
    assert summary.counts["code_pattern"] == 2 and summary.tokens == 6
    empty = build_lora_dataset(store, tmp_path / "y.jsonl", project="nothing-here")
    assert empty.total == 0 and (tmp_path / "y.jsonl").read_text() == ""
