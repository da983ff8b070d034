"""The MongoDB repository against a real SecantusDB server through pymongo."""

from datetime import timedelta

from forge_tui.domain.ids import conversation_id, message_id
from forge_tui.domain.models import Conversation, Role, Turn, TurnStatus, utcnow


def make_conv(project="default", title="t", when=None):
    when = when or utcnow()
    return Conversation(id=conversation_id(project, title, when), project=project, title=title,
                        created_at=when, updated_at=when)


def make_turn(conv, seq, role=Role.USER, content="hi", status=TurnStatus.COMPLETE):
    now = utcnow()
    return Turn(id=message_id(conv.id, str(seq), now), conversation_id=conv.id, seq=seq, role=role,
                content=content, status=status, created_at=now, updated_at=now)


def test_conversation_roundtrip_and_listing_is_metadata_only(store):
    older = make_conv(title="older", when=utcnow() - timedelta(hours=1))
    newer = make_conv(project="work", title="newer")
    store.create_conversation(older)
    store.create_conversation(newer)
    listed = store.list_conversations()
    assert [c.title for c in listed] == ["newer", "older"]
    assert store.list_conversations(project="work")[0].id == newer.id
    assert store.projects() == ["default", "work"]
    got = store.get_conversation(older.id)
    assert got.title == "older" and got.created_at.tzinfo is not None


def test_turns_are_ordered_and_updated_in_place(store):
    conv = make_conv()
    store.create_conversation(conv)
    store.insert_turn(make_turn(conv, 0, content="question"), conv.project)
    reply = make_turn(conv, 1, role=Role.ASSISTANT, content="", status=TurnStatus.STREAMING)
    store.insert_turn(reply, conv.project)
    store.update_turn(reply.id, content="partial answ")
    store.update_turn(reply.id, content="partial answer", status=TurnStatus.COMPLETE, tokens=3)
    turns = store.turns(conv.id)
    assert [t.content for t in turns] == ["question", "partial answer"]
    assert turns[1].status is TurnStatus.COMPLETE and turns[1].tokens == 3
    assert store.get_conversation(conv.id).turn_count == 2
    assert store.next_seq(conv.id) == 2


def test_streaming_turns_become_interrupted_at_startup(store):
    conv = make_conv()
    store.create_conversation(conv)
    turn = make_turn(conv, 0, role=Role.ASSISTANT, content="half", status=TurnStatus.STREAMING)
    store.insert_turn(turn)
    # written by this (live) process: another Forge's reply in progress, left alone
    assert store.close_interrupted() == 0
    store.db.messages.update_one({"_id": turn.id}, {"$set": {"owner.pid": 2**22 + 12345}})  # a dead writer
    assert store.close_interrupted() == 1
    turn = store.turns(conv.id)[0]
    assert turn.status is TurnStatus.INTERRUPTED and turn.content == "half"
    assert store.close_interrupted() == 0


def test_write_conversation_whole_is_idempotent(store):
    conv = make_conv(title="imported")
    turns = [make_turn(conv, i, content=f"m{i}") for i in range(3)]
    first = store.write_conversation_whole(conv, turns)
    assert first["turns_inserted"] == 3 and first["conversation_new"] == 1
    again = store.write_conversation_whole(conv, turns)
    assert again == {"turns_inserted": 0, "turns_modified": 0, "conversation_new": 0, "conversation_modified": 0}
    turns[1].content = "changed"
    changed = store.write_conversation_whole(conv, turns)
    assert changed["turns_modified"] == 1
    assert store.db.messages.count_documents({"conversation_id": conv.id}) == 3


def test_lineage_edges_are_unique(store):
    store.add_edge("c1", "a1", "compressed_into")
    store.add_edge("c1", "a1", "compressed_into")
    store.add_edge("c2", "a1", "continued_from")
    assert len(store.edges_from("c1")) == 1
    assert {e["src"] for e in store.edges_to("a1")} == {"c1", "c2"}
    assert len(store.edges("a1")) == 2


def test_archive_documents_by_id_prefix_and_project(store):
    now = utcnow()
    for aid, project, when in (("arc-a1", "p", now - timedelta(hours=1)), ("arc-a2", "p", now), ("arc-b1", "q", now)):
        store.save_archive({"_id": aid, "project": project, "created_at": when, "yaml": "y", "archive": {"x": 1}})
    store.save_archive({"_id": "arc-a1", "project": "p", "created_at": now - timedelta(hours=1), "yaml": "new"})
    assert store.get_archive("arc-a1")["yaml"] == "new" and store.has_archive("arc-b1")
    assert not store.has_archive("arc-")
    assert sorted(d["_id"] for d in store.archives_by_prefix("arc-a")) == ["arc-a1", "arc-a2"]
    assert store.archive_ids_by_prefix("arc-b") == ["arc-b1"]
    assert store.archive_ids_by_prefix("arc.", limit=5) == []  # the prefix is literal, not a pattern
    summaries = store.archive_summaries({"project": "p"})
    assert [d["_id"] for d in summaries] == ["arc-a2", "arc-a1"] and "yaml" not in summaries[0]
    assert sorted(store.archive_ids("q")) == ["arc-b1"] and len(store.all_archives()) == 3
    store.add_archive_if_absent("arc-b1", {"project": "other"})
    store.add_archive_if_absent("arc-c1", {"project": "r"})
    assert store.get_archive("arc-b1")["project"] == "q" and store.get_archive("arc-c1")["project"] == "r"


def test_conversation_existence_and_id_prefixes(store):
    conv = make_conv(title="prefixed")
    store.create_conversation(conv)
    assert store.has_conversation(conv.id) and not store.has_conversation(conv.id + "x")
    assert store.conversation_ids_by_prefix(conv.id[:6]) == [conv.id]


def test_edges_of_one_kind_in_src_dst_order(store):
    store.add_edge("c2", "a1", "compressed_into")
    store.add_edge("c1", "a2", "compressed_into")
    store.add_edge("c1", "a1", "compressed_into")
    store.add_edge("c1", "a1", "continued_from")
    assert [(e["src"], e["dst"]) for e in store.edges_of_kind("compressed_into")] == [
        ("c1", "a1"), ("c1", "a2"), ("c2", "a1")]


def test_message_and_conversation_documents(store):
    assert not store.has_messages()
    a, b = make_conv(title="a"), make_conv(project="q", title="b")
    for conv in (a, b):
        store.create_conversation(conv)
    turns = [make_turn(a, 0), make_turn(a, 1), make_turn(b, 0)]
    for t in turns:
        store.insert_turn(t)
    store.update_turn(turns[1].id, extracted_at=utcnow())
    assert store.has_messages() and store.message_doc(turns[0].id, {"seq": 1}) == {"_id": turns[0].id, "seq": 0}
    assert {d["_id"] for d in store.message_docs([turns[0].id, turns[2].id, "gone"])} == {turns[0].id, turns[2].id}
    assert store.turn_in_conversation(turns[0].id, a.id) and not store.turn_in_conversation(turns[0].id, b.id)
    assert store.conversation_titles([a.id, b.id, "gone"]) == {a.id: "a", b.id: "b"}
    assert {d["_id"] for d in store.conversation_docs([b.id])} == {b.id}
    assert store.message_docs([turns[1].id], {"seq": 1}) == [{"_id": turns[1].id, "seq": 1}]
    assert store.message_doc_at(a.id, 1)["_id"] == turns[1].id and store.message_doc_at(a.id, 2) is None
    assert store.unextracted_count([a.id, b.id]) == 2
    assert [d["_id"] for d in store.unextracted_docs([a.id])] == [turns[0].id]
    store.delete_turns_except(a.id, [turns[1].id])
    assert [t.id for t in store.turns(a.id)] == [turns[1].id]
    store.delete_messages([turns[2].id])
    assert store.turns(b.id) == []


def test_a_retried_insert_is_not_a_duplicate_but_a_clash_still_fails(store):
    """The ordered writer retries a write whose acknowledgement was lost with the server: the
    turn (or conversation) is there already, so the retry succeeds and nothing is doubled."""
    import pytest
    from pymongo.errors import DuplicateKeyError

    conv = make_conv()
    store.create_conversation(conv)
    store.create_conversation(conv)
    turn = make_turn(conv, 0)
    store.insert_turn(turn)
    store.insert_turn(turn)
    assert store.db.conversations.count_documents({"_id": conv.id}) == 1
    assert store.db.messages.count_documents({"conversation_id": conv.id}) == 1
    other = make_turn(conv, 0, content="another turn at the same position")
    other.id = other.id + "-other"
    with pytest.raises(DuplicateKeyError):
        store.insert_turn(other)
