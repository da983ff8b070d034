"""Exports: Markdown, JSON/YAML that round-trip through `forge import transcript`, archives as YAML."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml

from forge_tui.domain.ids import conversation_id, message_id
from forge_tui.domain.models import Conversation, Role, Turn, TurnStatus
from forge_tui.export import ExportError, export_all, export_conversation
from forge_tui.importers.claude import parse_claude
from forge_tui.importers.service import import_conversations
from forge_tui.importers.transcript import parse_transcript
from forge_tui.store.repository import Store

EXPORTS = Path(__file__).resolve().parent.parent / "fixtures" / "exports"


def _turn_view(store: Store, cid: str) -> list[tuple]:
    return [(t.seq, t.role, t.content, t.created_at) for t in store.turns(cid)]


@pytest.fixture
def other_store(mongo_client):
    import uuid

    name = "t_" + uuid.uuid4().hex[:12]
    s = Store(mongo_client[name])
    s.ensure_schema()
    yield s
    mongo_client.drop_database(name)


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_round_trip_through_transcript_import(store, other_store, tmp_path, fmt):
    import_conversations(store, parse_claude(EXPORTS / "claude_conversations.json"), project="p")
    for conv in store.list_conversations("p"):
        path = tmp_path / f"{conv.id}.{fmt}"
        path.write_text(export_conversation(store, conv.id, fmt), encoding="utf-8")
        summary = import_conversations(other_store, parse_transcript(path), project=None)
        assert summary.conversations == 1
        back = other_store.get_conversation(summary.conversation_ids[0])
        assert (back.title, back.project, back.created_at) == (conv.title, conv.project, conv.created_at)
        assert _turn_view(other_store, back.id) == _turn_view(store, conv.id)
        # Re-importing the export into the original store maps onto the same conversation.
        again = import_conversations(store, parse_transcript(path), project=None)
        assert again.conversation_ids == [conv.id] and again.unchanged == 1


def test_native_conversation_round_trip_keeps_ids(store, other_store, tmp_path):
    t0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    cid = conversation_id("work", "native", t0)
    conv = Conversation(id=cid, project="work", title="Native", created_at=t0, updated_at=t0)
    turns = [
        Turn(id=message_id(cid, "m0", t0), conversation_id=cid, seq=0, role=Role.USER, content="hello\n  indented",
             created_at=t0, updated_at=t0),
        Turn(id=message_id(cid, "m1", t0), conversation_id=cid, seq=1, role=Role.ASSISTANT, content="partial",
             status=TurnStatus.CANCELLED, created_at=t0, updated_at=t0, labels=["code_pattern"]),
    ]
    store.write_conversation_whole(conv, turns)
    path = tmp_path / "native.json"
    path.write_text(export_conversation(store, cid, "json"), encoding="utf-8")
    import_conversations(other_store, parse_transcript(path), project=None)
    back = other_store.turns(cid)
    assert [t.id for t in back] == [t.id for t in turns]
    assert _turn_view(other_store, cid) == _turn_view(store, cid)
    assert back[1].labels == ["code_pattern"]


def test_markdown_for_reading(store):
    import_conversations(store, parse_claude(EXPORTS / "claude_conversations.json"), project="p")
    conv = next(c for c in store.list_conversations("p") if c.title == "Ledger design ✨")
    md = export_conversation(store, conv.id[:10], "md")
    assert md.startswith("# Ledger design ✨\n")
    assert "## User · 2025-03-01 10:00" in md and "## Assistant" in md
    assert "**Tool call** `read_file`" in md


def test_archive_exports_as_yaml(store):
    import_conversations(store, parse_claude(EXPORTS / "claude_conversations.json"), project="p")
    text = export_conversation(store, "legacy-state-001", "md")
    data = yaml.safe_load(text)
    assert data["archive_id"] == "legacy-state-001" and data["decisions"][0]["id"] == "D001"


def test_export_all(store, tmp_path):
    import_conversations(store, parse_claude(EXPORTS / "claude_conversations.json"), project="p")
    summary = export_all(store, tmp_path / "out", "json")
    assert (summary.conversations, summary.archives) == (2, 1)
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert "archives" in names and len([n for n in names if n.endswith(".json")]) == 2
    for p in (tmp_path / "out").glob("*.json"):
        assert json.loads(p.read_text(encoding="utf-8"))["messages"]


def test_errors(store):
    with pytest.raises(ExportError, match="no conversation or archive"):
        export_conversation(store, "nope", "md")
    with pytest.raises(ExportError, match="unknown format"):
        export_conversation(store, "nope", "pdf")


def test_export_all_folder_imports_back(store, other_store, tmp_path):
    from forge_tui.importers.sources import open_source

    import_conversations(store, parse_claude(EXPORTS / "claude_conversations.json"), project="p")
    export_all(store, tmp_path / "out", "json")
    (tmp_path / "out" / "broken.json").write_text("{", encoding="utf-8")
    total, stream = open_source("transcript", tmp_path / "out")
    assert total == 3
    summary = import_conversations(other_store, stream, project=None)
    assert summary.conversations == 2 and summary.skipped[0][0] == "broken.json"
    for conv in store.list_conversations("p"):
        assert _turn_view(other_store, conv.id) == _turn_view(store, conv.id)
