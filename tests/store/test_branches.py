"""Branches in the store (regenerated replies, edited messages) on the real SecantusDB server:
old conversations read unchanged, every version is kept, the branch on show is a walk."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from forge_tui.domain.branches import TurnTree
from forge_tui.domain.ids import conversation_id, message_id
from forge_tui.domain.models import Conversation, Role, Turn, TurnStatus

BASE = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
PLAN_TURNS = [("user", "How should we store archives? Keep it short."),
              ("assistant", "Store each archive as its own document."),
              ("user", "And if the reply is cut off?"),
              ("assistant", "The partial text is kept and the turn is marked.")]


def seed_conversation(store, project: str, title: str, turns: list[tuple[str, str]]) -> Conversation:
    """Written the way importers and earlier versions wrote conversations: no parents, no head."""
    conv = Conversation(id=conversation_id(project, title, BASE.isoformat()), project=project, title=title,
                        created_at=BASE, updated_at=BASE)
    built = [Turn(id=message_id(conv.id, f"{seq}:{role}", BASE + timedelta(seconds=seq)), conversation_id=conv.id,
                  seq=seq, role=Role(role), content=text, created_at=BASE, updated_at=BASE)
             for seq, (role, text) in enumerate(turns)]
    store.write_conversation_whole(conv, built)
    return conv


def _turn(conv_id: str, seq: int, role: str, text: str, parent: str | None) -> Turn:
    at = BASE + timedelta(minutes=5, seconds=seq)
    return Turn(id=message_id(conv_id, f"{seq}:{role}", at), conversation_id=conv_id, seq=seq, role=Role(role),
                content=text, status=TurnStatus.COMPLETE, created_at=at, updated_at=at, parent_id=parent)


def test_a_conversation_written_before_branches_reads_unchanged(store):
    conv = seed_conversation(store, "default", "Archive storage plan", PLAN_TURNS)
    stored = store.turns(conv.id)
    assert all(t.parent_id is None for t in stored)
    assert store.get_conversation(conv.id).head is None
    assert [t.id for t in store.active_turns(conv.id)] == [t.id for t in stored]
    tree = store.turn_tree(conv.id)
    assert tree.branches() == {} and tree.off_path() == set()
    assert tree.parent_of(stored[0].id) == conv.id and tree.parent_of(stored[2].id) == stored[1].id
    # nothing was written to the documents by reading them
    assert "parent_id" not in store.message_doc(stored[0].id) and "head" not in store.conversation_docs([conv.id])[0]


def test_regenerate_keeps_the_old_reply_as_a_sibling(store):
    conv = seed_conversation(store, "default", "Archive storage plan", PLAN_TURNS)
    old = store.turns(conv.id)
    question, old_reply = old[2], old[3]
    again = _turn(conv.id, store.next_seq(conv.id), "assistant", "A second answer.", question.id)
    store.insert_turn(again, conv.project)
    store.record_branch(conv.id, old_reply.id, again.id, "regenerate")

    assert [t.id for t in store.active_turns(conv.id)] == [old[0].id, old[1].id, question.id, again.id]
    saved = store.get_conversation(conv.id)
    assert saved.head == again.id and saved.turn_count == 4
    tree = store.turn_tree(conv.id)
    assert tree.siblings(again.id) == [old_reply.id, again.id]
    assert tree.branches() == {question.id: (old_reply.id, again.id)}
    assert store.get_turn(old_reply.id).content == PLAN_TURNS[3][1]  # never deleted, never overwritten

    assert store.off_branch_turn_ids("default") == {old_reply.id}  # marked once the fork is recorded
    store.set_head(conv.id, old_reply.id)  # browse back to the first version
    assert [t.id for t in store.active_turns(conv.id)][-1] == old_reply.id
    assert store.off_branch_turn_ids("default") == {again.id} and store.off_branch_turn_ids("other") == set()
    assert store.get_conversation(conv.id).turn_count == 4
    edges = store.branch_edges(conv.id)
    assert [(e["src"], e["dst"], e["how"]) for e in edges] == [(old_reply.id, again.id, "regenerate")]


def test_editing_the_first_message_forks_at_the_root_and_both_branches_stay_reachable(store):
    conv = seed_conversation(store, "default", "Archive storage plan", PLAN_TURNS)
    old = store.turns(conv.id)
    seq = store.next_seq(conv.id)
    edited = _turn(conv.id, seq, "user", "How should we store archives? One line.", conv.id)
    reply = _turn(conv.id, seq + 1, "assistant", "One document each.", edited.id)
    store.insert_turn(edited, conv.project)
    store.insert_turn(reply, conv.project)
    store.record_branch(conv.id, old[0].id, edited.id, "edit")

    assert [t.id for t in store.active_turns(conv.id)] == [edited.id, reply.id]
    assert store.get_conversation(conv.id).turn_count == 2
    tree = store.turn_tree(conv.id)
    assert tree.siblings(edited.id) == [old[0].id, edited.id]
    assert tree.newest_leaf(old[0].id) == old[3].id  # the original branch, whole
    assert tree.off_path() == {t.id for t in old}
    store.set_head(conv.id, tree.newest_leaf(old[0].id))
    assert [t.id for t in store.active_turns(conv.id)] == [t.id for t in old]
    assert store.get_conversation(conv.id).turn_count == 4

    # an importer writing the same conversation again never unlinks a branch nor moves the head
    store.write_conversation_whole(store.get_conversation(conv.id), store.turns(conv.id))
    assert store.get_turn(edited.id).parent_id == conv.id and store.get_conversation(conv.id).head == old[3].id


def test_a_tree_merges_turns_not_written_yet():
    conv_id = "c1"
    a = Turn(id="a", conversation_id=conv_id, seq=0, role=Role.USER, content="q", parent_id=conv_id)
    b = Turn(id="b", conversation_id=conv_id, seq=1, role=Role.ASSISTANT, content="first", parent_id="a")
    c = Turn(id="c", conversation_id=conv_id, seq=2, role=Role.ASSISTANT, content="second", parent_id="a")
    tree = TurnTree.merged(conv_id, [a, b], [c])
    assert [t.id for t in tree.path()] == ["a", "c"]
    assert tree.siblings("b") == ["b", "c"] and tree.path("b")[-1].content == "first"


def test_search_reads_a_regenerated_reply_with_the_message_it_answers(store):
    """The keyword index holds each turn with the one before it: for a version, its parent, not the
    turn stored just before it (the reply it replaced)."""
    from forge_tui.search.message_feed import FIELDS, previous_turns

    conv = seed_conversation(store, "default", "Archive storage plan", PLAN_TURNS)
    old = store.turns(conv.id)
    again = _turn(conv.id, store.next_seq(conv.id), "assistant", "A second answer.", old[2].id)
    store.insert_turn(again, conv.project)
    docs = [store.message_doc(t.id, FIELDS) for t in (*old, again)]
    previous = previous_turns(store, docs)
    assert previous[again.id]["_id"] == old[2].id
    assert previous[old[3].id]["_id"] == old[2].id and old[0].id not in previous
    alone = previous_turns(store, [store.message_doc(again.id, FIELDS)])  # the parent read from the store
    assert alone[again.id]["content"] == PLAN_TURNS[2][1]


def test_forge_show_and_export_follow_the_branch_on_show(store, db, mongo_uri, tmp_path, monkeypatch, capsys):
    import json

    from forge_tui.cli import main

    monkeypatch.setenv("FORGE_DB", db.name)
    monkeypatch.setenv("FORGE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("FORGE_MODELS", raising=False)
    conv = seed_conversation(store, "default", "Archive storage plan", PLAN_TURNS)
    old = store.turns(conv.id)
    again = _turn(conv.id, store.next_seq(conv.id), "assistant", "A second answer.", old[2].id)
    store.insert_turn(again, conv.project)

    capsys.readouterr()
    assert main(["--mongo-uri", mongo_uri, "show", conv.id[:8]]) == 0
    out = capsys.readouterr().out
    assert "A second answer." in out and PLAN_TURNS[3][1] not in out and "version 2/2" in out
    assert main(["--mongo-uri", mongo_uri, "show", conv.id, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["turns"][-1]["versions"] == [old[3].id, again.id]
    assert main(["--mongo-uri", mongo_uri, "export", conv.id, "--format", "md"]) == 0
    exported = capsys.readouterr().out
    assert "A second answer." in exported and PLAN_TURNS[3][1] not in exported
