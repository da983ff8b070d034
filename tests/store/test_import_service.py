"""End-to-end imports of fixture exports into a real SecantusDB store."""

from __future__ import annotations

import json
import shutil
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import pytest

from forge_tui.importers.chatgpt import parse_chatgpt
from forge_tui.importers.claude import parse_claude
from forge_tui.importers.model import ImportInputError
from forge_tui.importers.service import import_conversations
from forge_tui.importers.transcript import parse_transcript

EXPORTS = Path(__file__).resolve().parent.parent / "fixtures" / "exports"
CLAUDE = EXPORTS / "claude_conversations.json"


def _claude_zip(tmp_path: Path) -> Path:
    path = tmp_path / "claude-export.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.write(CLAUDE, "data-2025/conversations.json")
        zf.writestr("data-2025/users.json", "[]")
    return path


def test_claude_zip_imports_every_conversation_in_order(store, tmp_path):
    summary = import_conversations(store, parse_claude(_claude_zip(tmp_path)), project="p")
    assert (summary.conversations, summary.messages, summary.updated, summary.unchanged) == (2, 6, 0, 0)
    reasons = [r for _, r in summary.skipped]
    assert "no messages with text" in reasons  # the empty conversation
    assert "message has no text" in reasons
    assert any("hologram" in r for r in reasons)
    convs = {c.title: c for c in store.list_conversations("p")}
    assert set(convs) == {"Ledger design ✨", "Ledger, continued"}
    ledger = convs["Ledger design ✨"]
    assert ledger.created_at == datetime(2025, 3, 1, 10, 0, 0, 123000, tzinfo=timezone.utc)
    assert ledger.source["kind"] == "claude" and ledger.source["id"].endswith("0001")
    turns = store.turns(ledger.id)
    assert [t.role.value for t in turns] == ["user", "assistant", "user", "assistant"]
    assert [t.seq for t in turns] == [0, 1, 2, 3]
    assert turns[0].created_at == datetime(2025, 3, 1, 10, 0, 1, tzinfo=timezone.utc)
    assert "日本語" in turns[0].content and "CREATE TABLE accounts (id serial" in turns[0].content
    assert "diagram.png" in turns[0].content
    assert "**Tool call** `read_file`" in turns[1].content and '"path": "schema.sql"' in turns[1].content
    assert "**Tool result** `read_file`" in turns[1].content
    assert turns[1].source == {"kind": "claude", "id": "m-0002"}


def test_reimport_is_idempotent_and_changes_update(store, tmp_path):
    first = import_conversations(store, parse_claude(CLAUDE), project="p")
    assert first.conversations == 2
    again = import_conversations(store, parse_claude(_claude_zip(tmp_path)), project="p")
    assert (again.conversations, again.messages, again.updated, again.unchanged) == (0, 0, 0, 2)
    assert store.db.messages.count_documents({}) == 6

    data = json.loads(CLAUDE.read_text(encoding="utf-8"))
    conv = data[2]
    conv["chat_messages"][1]["text"] = "Edited reply."
    conv["chat_messages"].insert(1, {"uuid": "m-0150", "sender": "assistant", "text": "Inserted mid-way",
                                     "created_at": "2025-03-03T08:00:10.000000Z"})
    conv["updated_at"] = "2025-03-04T00:00:00Z"
    changed = tmp_path / "conversations.json"
    changed.write_text(json.dumps(data), encoding="utf-8")
    third = import_conversations(store, parse_claude(changed), project="p")
    assert (third.conversations, third.messages, third.updated, third.unchanged) == (0, 1, 1, 1)
    cont = next(c for c in store.list_conversations("p") if c.title == "Ledger, continued")
    assert [t.content for t in store.turns(cont.id)][1:] == ["Inserted mid-way", "Edited reply."]
    assert store.db.messages.count_documents({}) == 7


def test_on_written_hook_gets_whole_new_conversations(store):
    seen = []
    import_conversations(store, parse_claude(CLAUDE), project="p", on_written=lambda c, t: seen.append((c.title, len(t))))
    assert seen == [("Ledger design ✨", 4), ("Ledger, continued", 2)]
    seen.clear()
    import_conversations(store, parse_claude(CLAUDE), project="p", on_written=lambda c, t: seen.append(c.title))
    assert seen == []  # unchanged conversations do not re-run the pipeline


def test_hook_failure_is_reported_not_fatal(store):
    def boom(conv, turns):
        raise RuntimeError("embedder offline")

    summary = import_conversations(store, parse_claude(CLAUDE), project="p", on_written=boom)
    assert summary.conversations == 2 and len(summary.pipeline_errors) == 2


def test_lineage_edges_from_embedded_archive(store):
    summary = import_conversations(store, parse_claude(CLAUDE), project="p")
    convs = {c.title: c for c in store.list_conversations("p")}
    producer, continuing = convs["Ledger design ✨"].id, convs["Ledger, continued"].id
    assert summary.lineage_edges == 2
    assert [e["dst"] for e in store.edges_from(producer, "compressed_into")] == ["legacy-state-001"]
    assert [e["dst"] for e in store.edges_from(continuing, "continued_from")] == ["legacy-state-001"]
    archive = store.db.archives.find_one({"_id": "legacy-state-001"})
    assert archive["source_conversations"] == [producer]
    assert archive["data"]["decisions"][0]["id"] == "D001"
    assert store.get_conversation(continuing).archive_context == "legacy-state-001"
    again = import_conversations(store, parse_claude(CLAUDE), project="p")
    assert again.unchanged == 2 and store.db.lineage.count_documents({}) == 2


def test_lineage_across_separate_imports(store, tmp_path):
    data = json.loads(CLAUDE.read_text(encoding="utf-8"))
    (tmp_path / "a.json").write_text(json.dumps([data[2]]), encoding="utf-8")
    (tmp_path / "b.json").write_text(json.dumps([data[0]]), encoding="utf-8")
    import_conversations(store, parse_claude(tmp_path / "a.json"), project="p")
    import_conversations(store, parse_claude(tmp_path / "b.json"), project="p")
    assert store.db.lineage.count_documents({"kind": "compressed_into"}) == 1
    assert store.db.lineage.count_documents({"kind": "continued_from"}) == 1


def test_chatgpt_current_branch_in_order(store):
    summary = import_conversations(store, parse_chatgpt(EXPORTS / "chatgpt_conversations.json"), project="p")
    assert summary.conversations == 1
    assert any(r == "no messages with text on the current branch" for _, r in summary.skipped)
    conv = store.list_conversations("p")[0]
    turns = store.turns(conv.id)
    contents = [t.content for t in turns]
    assert contents[0] == "Write a haiku about Rust 🦀"
    assert contents[1].startswith("Borrow checker hums")
    assert all("abandoned branch" not in c for c in contents)
    assert "**Tool call** `python`" in contents[3] and "**Tool result** `python`" in contents[4]
    assert contents[-1] == "Three words in the first line."
    assert turns[0].created_at == datetime(2023, 11, 14, 22, 13, 21, 500000, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    "name,title,count,project",
    [("transcript.json", "Plain transcript", 3, "notes"), ("transcript.jsonl", "JSONL line one", 2, "default"),
     ("transcript.yaml", "YAML transcript", 2, "default")],
)
def test_transcripts(store, name, title, count, project):
    summary = import_conversations(store, parse_transcript(EXPORTS / name), project=None)
    assert summary.conversations == 1 and summary.messages == count
    conv = store.list_conversations()[0]
    assert (conv.title, conv.project) == (title, project)
    again = import_conversations(store, parse_transcript(EXPORTS / name), project=None)
    assert (again.conversations, again.messages, again.unchanged) == (0, 0, 1)


def test_transcript_without_timestamps_is_idempotent(store, tmp_path):
    path = tmp_path / "t.json"
    path.write_text(json.dumps([{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]))
    assert import_conversations(store, parse_transcript(path), project="p").conversations == 1
    again = import_conversations(store, parse_transcript(path), project="p")
    assert (again.conversations, again.updated, again.unchanged) == (0, 0, 1)


@pytest.mark.parametrize(
    "make,needle",
    [
        (lambda d: d / "latin1_transcript.json", "not UTF-8"),
        (lambda d: d / "truncated_claude.json", "truncated"),
    ],
)
def test_bad_files_give_clear_errors(make, needle):
    path = make(EXPORTS)
    parser = parse_transcript if "transcript" in path.name else parse_claude
    with pytest.raises(ImportInputError, match=needle):
        list(parser(path))


def test_zip_that_is_not_an_export(tmp_path):
    path = tmp_path / "photos.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("IMG_0001.jpg", b"\xff\xd8")
    with pytest.raises(ImportInputError, match="not a Claude data export"):
        list(parse_claude(path))


def test_extracted_folder(store, tmp_path):
    folder = tmp_path / "export"
    folder.mkdir()
    shutil.copy(CLAUDE, folder / "conversations.json")
    assert import_conversations(store, parse_claude(folder), project="p").conversations == 2


def test_reimport_keeps_pipeline_labels(store):
    import_conversations(store, parse_claude(CLAUDE), project="p")
    conv = next(c for c in store.list_conversations("p") if c.title == "Ledger, continued")
    first = store.turns(conv.id)[1]
    store.update_turn(first.id, labels=["code_pattern"], tokens=12, updated_at=first.updated_at)
    again = import_conversations(store, parse_claude(CLAUDE), project="p")
    assert again.unchanged == 2 and again.updated == 0
    kept = store.get_turn(first.id)
    assert kept.labels == ["code_pattern"] and kept.tokens == 12


def test_conversation_continued_in_forge_is_never_clobbered(store, tmp_path):
    from forge_tui.domain.ids import message_id
    from forge_tui.domain.models import Role, Turn

    import_conversations(store, parse_claude(CLAUDE), project="p")
    conv = next(c for c in store.list_conversations("p") if c.title == "Ledger, continued")
    native = Turn(id=message_id(conv.id, "native", None), conversation_id=conv.id, seq=2, role=Role.USER,
                  content="a new question asked in Forge")
    store.insert_turn(native, "p")
    again = import_conversations(store, parse_claude(CLAUDE), project="p")
    assert again.unchanged == 2  # source unchanged: nothing touched
    data = json.loads(CLAUDE.read_text(encoding="utf-8"))
    data[2]["chat_messages"].append({"uuid": "m-0199", "sender": "human", "text": "added at the source",
                                     "created_at": "2025-03-05T08:00:00Z"})
    changed = tmp_path / "conversations.json"
    changed.write_text(json.dumps(data), encoding="utf-8")
    third = import_conversations(store, parse_claude(changed), project="p")
    assert third.updated == 0 and any("continued in Forge" in r for _, r in third.skipped)
    assert [t.content for t in store.turns(conv.id)][-1] == "a new question asked in Forge"


def test_lone_surrogates_and_pasted_only_archives(store, tmp_path):
    path = tmp_path / "t.json"
    path.write_text('{"title": "bad \\udc80 title", "messages": [{"role": "user", "content": "x \\ud800 y\\n\\n'
                    'archive_id: pasted-only\\ndecisions:\\n  - id: D001\\n    text: t"}]}', encoding="utf-8")
    summary = import_conversations(store, parse_transcript(path), project="p")
    assert summary.conversations == 1
    conv = store.list_conversations("p")[0]
    assert "\ufffd" not in conv.title or conv.title.startswith("bad")
    assert store.turns(conv.id)[0].content.startswith("x ")
    assert store.edges_from(conv.id, "continued_from")[0]["dst"] == "pasted-only"
    assert store.db.archives.find_one({"_id": "pasted-only"})["source_conversations"] == []
