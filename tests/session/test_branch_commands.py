"""Regenerate, edit and resend, browse versions: the controller on a scripted engine and the real
SecantusDB. Every version is stored, the branch on show is what the model sees, lineage records forks."""

from __future__ import annotations

from forge_tui.domain.models import Role
from forge_tui.session import events as ev

from test_controller_fast import finished, make


def _last(rec, kind, match=lambda e: True):
    """The newest event of ``kind`` seen so far (events of one command may come in any order)."""
    return next(e for e in reversed(rec.events) if isinstance(e, kind) and match(e))


def test_regenerate_edit_and_browse_versions(store):
    controller, rec, engine = make(store, reply="First answer.")
    controller.send("What is a branch?")
    first = rec.wait_for(finished).turn
    conv_id = first.conversation_id

    engine["e"].reply = "Second answer."
    controller.regenerate()
    shown = rec.wait_for(lambda e: isinstance(e, ev.BranchShown))
    assert [t.role for t in shown.turns] == [Role.USER] and shown.branches == {}
    second = rec.wait_for(finished).turn
    changed = _last(rec, ev.BranchesChanged)
    question = shown.turns[0]
    assert changed.branches == {question.id: (first.id, second.id)}
    assert second.parent_id == question.id and second.content == "Second answer."
    # the model saw the question alone, not the reply it replaces
    assert [m["content"] for m in engine["e"].requests[-1].messages[1:]] == ["What is a branch?"]
    assert store.get_turn(first.id).content == "First answer."  # kept
    assert [t.id for t in store.active_turns(conv_id)] == [question.id, second.id]
    controller.run_on_worker(lambda: None).result(5)

    controller.show_version(second.id, -1)
    back = rec.wait_for(lambda e: isinstance(e, ev.BranchShown) and e.focus_turn_id == first.id)
    assert [t.id for t in back.turns] == [question.id, first.id]
    controller.run_on_worker(lambda: None).result(5)
    assert controller.state.turns[-1].id == first.id
    controller.show_version(first.id, -1)  # there is no earlier one: a notice, nothing changes
    rec.wait_for(lambda e: isinstance(e, ev.Notice) and "version 1 of 2" in e.message)

    # a new message on the first version continues that branch
    engine["e"].reply = "Follow-up answer."
    controller.send("And a fork?")
    follow = rec.wait_for(finished).turn
    assert [t.content for t in controller.state.turns] == ["What is a branch?", "First answer.", "And a fork?",
                                                          "Follow-up answer."]
    # edit the first message: a new branch from the root; the old one stays whole
    engine["e"].reply = "Edited answer."
    controller.edit_message(question.id, "What is a fork?")
    rec.wait_for(lambda e: isinstance(e, ev.BranchShown) and e.turns == [])
    edited_reply = rec.wait_for(finished).turn
    changed = _last(rec, ev.BranchesChanged)
    edited = controller.state.turns[0]
    assert edited.content == "What is a fork?" and edited.parent_id == conv_id
    assert changed.branches[conv_id] == (question.id, edited.id)
    assert [t.id for t in store.active_turns(conv_id)] == [edited.id, edited_reply.id]
    edges = store.branch_edges(conv_id)
    assert [(e["src"], e["dst"], e["how"]) for e in edges] == [(first.id, second.id, "regenerate"),
                                                              (question.id, edited.id, "edit")]
    # back to the original message: the newest branch below it (the follow-up) comes back whole
    controller.show_version(edited.id, -1)
    rec.wait_for(lambda e: isinstance(e, ev.BranchShown) and e.focus_turn_id == question.id)
    controller.run_on_worker(lambda: None).result(5)
    assert [t.id for t in controller.state.turns][-1] == follow.id
    controller.shutdown()
    assert store.get_conversation(conv_id).head == follow.id and store.get_conversation(conv_id).turn_count == 4

    # reopening shows the branch on show, with its versions
    controller, rec, _ = make(store)
    controller.open_conversation(conv_id)
    opened = rec.wait_for(lambda e: isinstance(e, ev.ConversationOpened))
    assert [t.id for t in opened.turns][-1] == follow.id
    branches = rec.wait_for(lambda e: isinstance(e, ev.BranchesChanged)).branches
    assert branches == {conv_id: (question.id, edited.id), question.id: (first.id, second.id)}
    controller.shutdown()


def test_nothing_to_regenerate_or_edit_says_so(store):
    controller, rec, _ = make(store)
    controller.regenerate()
    rec.wait_for(lambda e: isinstance(e, ev.Notice) and "Nothing to regenerate" in e.message)
    controller.edit_message("nope", "text")
    rec.wait_for(lambda e: isinstance(e, ev.Notice) and "Only your own messages" in e.message)
    controller.shutdown()


def test_the_knowledge_pane_follows_the_branch_on_show(store):
    """A decision only the old reply stated leaves the pane when its reply is regenerated and comes
    back with it; the registry keeps it throughout (nothing is deleted)."""
    from forge_tui.config import Settings
    from forge_tui.knowledge.registry import Registry
    from forge_tui.session.knowledge import KnowledgeService

    registry = Registry(store)
    knowledge = KnowledgeService(lambda: registry, Settings())
    controller, rec, engine = make(store, reply="We use Postgres for the ledger.")
    controller.send("Which database?")
    first = rec.wait_for(finished).turn
    registry.record_decision("default", "We use Postgres for the ledger.", sources=[first.id],
                             conversation_id=first.conversation_id)
    assert [d["text"] for d in knowledge.view("default").view["decisions"]] == ["We use Postgres for the ledger."]

    engine["e"].reply = "Any database will do."
    controller.regenerate()
    second = rec.wait_for(finished).turn
    controller.run_on_worker(lambda: None).result(5)
    _wait(lambda: store.off_branch_turn_ids("default") == {first.id})  # marked once the fork is recorded
    assert knowledge.view("default").view["decisions"] == []
    assert [d.id for d in registry.decisions("default")] == ["D001"]  # kept

    controller.show_version(second.id, -1)
    rec.wait_for(lambda e: isinstance(e, ev.BranchShown) and e.focus_turn_id == first.id)
    _wait(lambda: store.off_branch_turn_ids("default") == {second.id})
    assert [d["text"] for d in knowledge.view("default").view["decisions"]] == ["We use Postgres for the ledger."]
    controller.shutdown()


def _wait(predicate, timeout: float = 10.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met"
        time.sleep(0.02)


def test_an_edit_that_would_not_fit_changes_nothing(store):
    controller, rec, _ = make(store, reply="Short answer.")
    controller.send("A question.")
    reply = rec.wait_for(finished).turn
    before = [t.id for t in controller.state.turns]
    question = controller.state.turns[0]
    controller.edit_message(question.id, "word " * 6000)  # far past n_ctx (4,096)
    rec.wait_for(lambda e: isinstance(e, ev.Notice) and "would not fit" in e.message)
    controller.run_on_worker(lambda: None).result(5)
    assert [t.id for t in controller.state.turns] == before
    assert not any(isinstance(e, ev.BranchShown) for e in rec.events)
    assert len(store.turns(reply.conversation_id)) == 2 and store.branch_edges(reply.conversation_id) == []
    controller.shutdown()


def test_opening_at_a_turn_of_another_version_shows_its_branch(store):
    """A search result may be a version off the branch on show: opening at it switches to its branch."""
    controller, rec, engine = make(store, reply="First answer.")
    controller.send("What is a branch?")
    first = rec.wait_for(finished).turn
    engine["e"].reply = "Second answer."
    controller.regenerate()
    second = rec.wait_for(finished).turn
    controller.new_conversation()
    controller.open_conversation(first.conversation_id, focus_turn_id=first.id)
    opened = rec.wait_for(lambda e: isinstance(e, ev.ConversationOpened) and e.turns)
    assert [t.id for t in opened.turns][-1] == first.id and opened.focus_turn_id == first.id
    _wait(lambda: store.off_branch_turn_ids() == {second.id})  # written as the branch on show
    assert store.get_conversation(first.conversation_id).head == first.id
    controller.shutdown()
