"""Parsers alone (no database): shapes, branches, timestamps, bad input."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from forge_tui.importers.chatgpt import current_branch, iter_chatgpt_conversations
from forge_tui.importers.claude import iter_claude_conversations, render_block
from forge_tui.importers.model import ImportInputError, ParsedConversation, Skip, parse_timestamp
from forge_tui.importers.transcript import iter_transcript, parse_transcript


def test_parse_timestamp_forms():
    want = datetime(2025, 1, 2, 3, 4, 5, 678000, tzinfo=timezone.utc)
    assert parse_timestamp("2025-01-02T03:04:05.678901Z") == want
    assert parse_timestamp(want.timestamp()) == want
    assert parse_timestamp(want.timestamp() * 1000) == want
    assert parse_timestamp("2025-01-02T04:04:05.678+01:00") == want
    assert parse_timestamp(datetime(2025, 1, 2, 3, 4, 5, 678901)) == want
    assert parse_timestamp("not a date") is None and parse_timestamp(None) is None and parse_timestamp(True) is None


def test_render_blocks():
    assert render_block({"type": "tool_use", "name": "grep", "input": {"q": "ü"}})[0] == (
        '**Tool call** `grep`\n```json\n{\n  "q": "ü"\n}\n```'
    )
    text, _ = render_block({"type": "tool_result", "content": "boom", "is_error": True})
    assert text == "**Tool result** (error)\n```\nboom\n```"
    assert render_block({"type": "image"}) == ("", "unknown content block type 'image' with no text")
    assert render_block({"type": "future_kind", "text": "kept"}) == ("kept", None)
    assert render_block("junk")[1] == "content block is not an object"


def test_claude_bad_items_are_counted_skips():
    items = list(iter_claude_conversations([
        "nonsense",
        {"uuid": "u1", "name": "x", "chat_messages": [{"uuid": "m", "sender": "robot", "text": "hi"}, 7]},
    ]))
    assert all(isinstance(i, Skip) for i in items)
    reasons = [i.reason for i in items]
    assert "not a Claude conversation object (no uuid)" in reasons
    assert "unknown sender 'robot'" in reasons and "not a message object" in reasons
    assert "no messages with text" in reasons


def _node(nid, parent, children, role="user", text="t"):
    return {"id": nid, "parent": parent, "children": children,
            "message": {"id": nid, "author": {"role": role}, "content": {"content_type": "text", "parts": [text]}}}


def test_chatgpt_branch_selection():
    mapping = {"r": {"id": "r", "parent": None, "children": ["a"], "message": None},
               "a": _node("a", "r", ["b1", "b2"]), "b1": _node("b1", "a", [], "assistant", "old"),
               "b2": _node("b2", "a", [], "assistant", "new")}
    assert [n["id"] for n in current_branch(mapping, "b1")] == ["r", "a", "b1"]
    assert [n["id"] for n in current_branch(mapping, None)] == ["r", "a", "b2"]  # newest regeneration
    cyclic = {"x": {"id": "x", "parent": "y"}, "y": {"id": "y", "parent": "x"}}
    assert len(current_branch(cyclic, "x")) == 2  # no infinite loop


def test_chatgpt_multimodal_and_unknown_content():
    mapping = {"a": {"id": "a", "parent": None, "children": ["b"], "message": {
        "id": "a", "author": {"role": "user"}, "create_time": 1.0,
        "content": {"content_type": "multimodal_text", "parts": [{"content_type": "image_asset_pointer"}, "look"]}}},
        "b": {"id": "b", "parent": "a", "children": [], "message": {
            "id": "b", "author": {"role": "assistant"}, "content": {"content_type": "hologram", "blob": 1}}}}
    items = list(iter_chatgpt_conversations([{"title": "t", "mapping": mapping, "current_node": "b", "id": "c"}]))
    conv = next(i for i in items if isinstance(i, ParsedConversation))
    assert conv.messages[0].content == "_[image]_\n\nlook"
    assert any(isinstance(i, Skip) and "hologram" in i.reason for i in items)


def test_transcript_shapes():
    many = list(iter_transcript([{"title": "a", "messages": [{"role": "user", "content": "1"}]},
                                 {"title": "b", "messages": [{"role": "bot", "content": "2"}]}]))
    assert [c.title for c in many] == ["a", "b"] and many[1].messages[0].role == "assistant"
    wrapped = list(iter_transcript({"conversations": [{"messages": [{"role": "user", "content": "x"}]}]}))
    assert len(wrapped) == 1
    parts = list(iter_transcript([{"role": "user", "content": [{"type": "text", "text": "hi"}]}]))
    assert parts[0].messages[0].content == "hi"
    with pytest.raises(ImportInputError, match="expected a list"):
        list(iter_transcript(42))
    with pytest.raises(ImportInputError, match="needs a `messages` list"):
        list(iter_transcript({"title": "no messages"}))


def test_transcript_ids_are_stable(tmp_path):
    path = tmp_path / "t.json"
    path.write_text(json.dumps([{"role": "user", "content": "same"}]))
    a = next(iter(parse_transcript(path)))
    path.write_text(json.dumps([{"role": "user", "content": "same"}, {"role": "assistant", "content": "more"}]))
    b = next(iter(parse_transcript(path)))
    assert a.source_id == b.source_id  # appending keeps the identity, so a re-import updates


def test_bad_yaml_and_jsonl(tmp_path):
    (tmp_path / "bad.yaml").write_text("messages: [unclosed\n")
    with pytest.raises(ImportInputError, match="invalid YAML"):
        list(parse_transcript(tmp_path / "bad.yaml"))
    (tmp_path / "bad.jsonl").write_text('{"role": "user", "content": "ok"}\n{broken\n')
    with pytest.raises(ImportInputError, match="line 2"):
        list(parse_transcript(tmp_path / "bad.jsonl"))
