"""Hostile input never crashes a parser: every conversation is either parsed or a counted
skip with its reason. Bounded example counts keep CI fast; bench/fuzz_importers.py runs
the same properties far longer."""

from __future__ import annotations

import importer_strategies as S
import pytest
from hypothesis import HealthCheck, given, settings

from forge_tui.importers.chatgpt import iter_chatgpt_conversations
from forge_tui.importers.claude import iter_claude_conversations
from forge_tui.importers.model import ImportInputError, ParsedConversation, Skip
from forge_tui.importers.transcript import iter_transcript
from forge_tui.protocol.detect import find_archive_blocks
from forge_tui.protocol.safe_yaml import MAX_DEPTH
from forge_tui.protocol.validate import ArchiveError, load_archive_text, safe_yaml

FUZZ = settings(max_examples=150, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def consume(stream) -> list:
    items = list(stream)
    for item in items:
        assert isinstance(item, (ParsedConversation, Skip))
        if isinstance(item, ParsedConversation):
            assert item.messages and all(m.role in ("user", "assistant", "system") for m in item.messages)
            assert isinstance(item.title, str) and isinstance(item.source_id, str)
            assert item.project is None or isinstance(item.project, str)
    return items


@FUZZ
@given(S.claude_export)
def test_claude_parser_never_crashes(export):
    whole = len(export)
    items = consume(iter_claude_conversations(list(export)))
    # every source conversation ends as exactly one conversation or one whole skip
    assert sum(isinstance(i, ParsedConversation) or (isinstance(i, Skip) and i.whole) for i in items) == whole


@FUZZ
@given(S.chatgpt_export)
def test_chatgpt_parser_never_crashes(export):
    whole = len(export)
    items = consume(iter_chatgpt_conversations(list(export)))
    assert sum(isinstance(i, ParsedConversation) or (isinstance(i, Skip) and i.whole) for i in items) == whole


@FUZZ
@given(S.transcript_data)
def test_transcript_parser_never_crashes(data):
    try:
        consume(iter_transcript(data, "fuzz.json"))
    except ImportInputError:
        pass  # the input as a whole is not a transcript: one clear error, also fine


@FUZZ
@given(S.archive_text)
def test_archive_yaml_is_loaded_or_refused_with_a_reason(text):
    try:
        load_archive_text(text)
    except ArchiveError as exc:
        assert str(exc)
    for block in find_archive_blocks(text):
        assert isinstance(block["data"], dict)


def test_a_malformed_conversation_is_skipped_with_its_reason_and_the_rest_imported():
    good = {"uuid": "c2", "name": "fine", "chat_messages": [{"uuid": "m1", "sender": "human", "text": "hello"}]}
    hostile = [
        {"uuid": "c1", "name": ["not", "a", "title"], "chat_messages": "not a list"},
        {"uuid": {"nested": True}, "chat_messages": [{"sender": "human", "text": "x", "attachments": 5}]},
        good,
    ]
    items = consume(iter_claude_conversations(hostile))
    parsed = [i for i in items if isinstance(i, ParsedConversation)]
    assert [p.source_id for p in parsed] == ["c2"]
    assert all(s.reason for s in items if isinstance(s, Skip))
    chatgpt = [{"mapping": {"a": {"parent": ["unhashable"], "children": "ab", "message": "x"}}, "current_node": ["a"]},
               {"title": 7, "mapping": {"a": {"message": {"author": "user", "content": {"parts": ["hi"]}}}}}]
    assert all(isinstance(i, Skip) for i in consume(iter_chatgpt_conversations(chatgpt)))


@pytest.mark.parametrize("text", [
    "[" * 5000 + "]" * 5000,
    "".join(" " * i + "k:\n" for i in range(0, 400)),
    "- " * 300 + "x",
], ids=["flow-5000-deep", "block-400-deep", "dashes-300-deep"])
def test_deeply_nested_yaml_is_refused_at_once(text):
    with pytest.raises(ArchiveError, match="nest"):
        safe_yaml(text)
    assert find_archive_blocks("decisions:\n" + text) is not None  # no RecursionError


@pytest.mark.parametrize("value", [5, "x", True, 2.5, {"a": 1}])
def test_archive_sections_of_the_wrong_type_are_issues_not_crashes(value):
    from forge_tui.protocol.validate import validate_archive

    assert validate_archive({"schema": "forge-archive/1", "decisions": value, "threads": value})


def test_aliases_are_refused():
    with pytest.raises(ArchiveError, match="anchors"):
        safe_yaml("a: &x [1, 2]\nb: *x\n")
    assert MAX_DEPTH >= 16
