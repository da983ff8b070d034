"""The registry keeps state, not sentences: the live path (Extractor.process_turn) links like the archive.

A scripted labeller stands in for the learned classifier so each link is pinned
whatever the shipped weights say; the store is the real SecantusDB.
"""

from __future__ import annotations

import pytest

from forge_tui.config import Settings
from forge_tui.domain.ids import conversation_id, message_id
from forge_tui.domain.models import Conversation, Role, Turn
from forge_tui.knowledge.extraction import Extractor
from forge_tui.knowledge.pipeline.classify import Labelled, as_turns, turn_units
from forge_tui.knowledge.pipeline.model import LABELS
from forge_tui.knowledge.registry import Registry


class Scripted:
    path = "scripted"

    def __init__(self, labels: dict[str, str], unsure: tuple[str, ...] = ()):
        """``unsure``: phrases of sentences the classifier leaves ``other`` but finds 40 % question-like."""
        self.labels = labels
        self.unsure = unsure

    def label(self, turns, only=None, offset=0):
        tt = as_turns(turns)
        out = []
        for i in (range(len(tt)) if only is None else only):
            for s, ctx in turn_units(tt, i, offset):
                label = next((lab for phrase, lab in self.labels.items() if phrase in s.text), "other")
                proba = tuple(1.0 if n == label else 0.0 for n in LABELS)
                raw = (0.6, 0.0, 0.4, 0.0, 0.0, 0.0) if any(p in s.text for p in self.unsure) else proba
                out.append(Labelled(s, i + offset, tt[i].source, ctx.role, label, 1.0, proba, raw))
        return out


@pytest.fixture
def run(store):
    reg = Registry(store)
    conv = Conversation(id=conversation_id("p", "chat", "2026-01-01"), project="p", title="chat")
    store.create_conversation(conv)

    def feed(labels: dict[str, str], *contents: str, unsure: tuple[str, ...] = ()) -> list[Turn]:
        extractor = Extractor(reg, None, Settings(), classifier=Scripted(labels, unsure))
        turns = []
        for seq, content in enumerate(contents):
            turn = Turn(id=message_id(conv.id, f"m{seq}", None), conversation_id=conv.id, seq=seq,
                        role=Role.USER if seq % 2 == 0 else Role.ASSISTANT, content=content)
            store.insert_turn(turn, "p")
            assert extractor.process_turn(turn, conv).ok
            turns.append(turn)
        return turns

    return reg, feed


def test_revision_supersedes_and_restatement_merges(run):
    reg, feed = run
    turns = feed({"redis it is": "decision", "will hold": "decision", "scrap": "decision"},
                 "ok redis it is.", "Great, Redis will hold the buckets.", "scrap redis, we move to an in-memory limiter.")
    old, new = reg.decisions("p", include_inactive=True)
    assert old.sources == [turns[0].id, turns[1].id]  # the assistant's restatement merged in
    assert (old.status, old.superseded_by, new.supersedes, new.value) == ("superseded", new.id, [old.id],
                                                                         "an in-memory limiter")


def test_agreement_records_the_proposal(run):
    reg, feed = run
    turns = feed({"sounds good": "decision"}, "what burst size?",
                 "I would start with a burst of 20 and a refill of 5 per second.", "sounds good, do that.")
    (d,) = reg.decisions("p")
    assert d.value.startswith("I would start with a burst of 20") and d.sources == [turns[2].id]
    assert "agreed: sounds good, do that." in d.text


def test_resolution_closes_the_thread_with_that_turn_as_source(run):
    reg, feed = run
    turns = feed({"not sure yet": "question", "settles it": "resolution"},
                 "not sure yet whether we limit per key or per ip.", "Noted.", "per key then, that settles it.")
    (t,) = reg.threads("p")
    assert (t.status, t.title, t.resolution_sources) == ("RESOLVED", "Whether we limit per key or per ip", [turns[2].id])
    assert t.question == "not sure yet whether we limit per key or per ip."


def test_pinned_decisions_are_not_superseded_by_extraction(run):
    reg, feed = run
    reg.pin("p", "decision", "We use Redis for the buckets.")
    feed({"scrap": "decision"}, "scrap redis, we move to memcached.")
    assert reg.get_decision("p", "D001").status == "active"


def test_a_question_nobody_recorded_is_opened_from_its_turn_and_closed_by_the_turn_that_settles_it(run):
    reg, feed = run
    turns = feed({"is settled": "resolution"},
                 "We can buy the freezer now. I am not yet certain whether our procurement rules permit price "
                 "to be weighted below 40%.", "I can draft both versions of the scoring sheet.",
                 "Legal confirmed 30% is allowed, so the procurement question is settled.",
                 unsure=("not yet certain",))
    [thread] = reg.threads("p")
    assert thread.status == "RESOLVED" and thread.sources[0] == turns[0].id
    assert thread.question.startswith("I am not yet certain whether")
    assert "settled" in thread.resolution


def test_a_bare_status_after_a_question_joins_it_in_the_registry_too(run):
    reg, feed = run
    feed({"jamovi or r": "question", "not sure yet": "question"},
         "for the assignments jamovi or r. the students are scared of r. i use r myself. not sure yet")
    [thread] = reg.threads("p")
    assert thread.title == "For the assignments jamovi or r"


def test_a_bare_status_after_a_question_mark_read_as_no_question_opens_that_question_in_the_registry(run):
    reg, feed = run
    feed({"still undecided": "question", "TBD": "question"},
         "- agency: still undecided on that. 20-25% fee is brutal.\n- reference checks before or after offer? TBD")
    assert sorted(t.title for t in reg.threads("p")) == ["Agency: still undecided on that",
                                                          "Reference checks before or after offer"]


class LiveOnly(Scripted):
    """Labels ``phrase`` a decision only while its turn has no reply yet (what a live reading may get wrong)."""

    def __init__(self, phrase: str):
        super().__init__({})
        self.phrase = phrase

    def label(self, turns, only=None, offset=0):
        out = super().label(turns, only, offset)
        last = len(as_turns(turns)) - 1 + offset
        return [Labelled(it.sentence, it.turn, it.source, it.role, "decision", 1.0, it.proba)
                if self.phrase in it.text and it.turn == last else it for it in out]


def test_a_draft_the_reread_no_longer_finds_is_withdrawn_and_kept(run, store):
    reg, _ = run
    conv = Conversation(id=conversation_id("p", "live", "2026-01-02"), project="p", title="live")
    store.create_conversation(conv)
    extractor = Extractor(reg, None, Settings(), classifier=LiveOnly("ran 10 test runs"))
    for seq, content in enumerate(["I ran 10 test runs.", "Good, the numbers look stable."]):
        turn = Turn(id=message_id(conv.id, f"m{seq}", None), conversation_id=conv.id, seq=seq,
                    role=Role.USER if seq % 2 == 0 else Role.ASSISTANT, content=content)
        store.insert_turn(turn, "p")
        assert extractor.process_turn(turn, conv).ok
        if seq == 0:
            assert [d.statement for d in reg.active_decisions("p")] == ["I ran 10 test runs."]
    assert reg.active_decisions("p") == []
    [kept] = [d for d in reg.decisions("p", include_inactive=True) if d.kind == "decision"]
    assert kept.status == "dismissed"
    [event] = reg.events.recent("p", what="decision_withdrawn")
    assert event["who"] == "extractor" and "reply" in event["why"]
    assert not list(reg.corrections("p"))  # not a person's correction: no training example


class ReplyOnly(Scripted):
    """``phrase`` is a question only once its turn's reply is known (the re-read finds it, the live pass not)."""

    def __init__(self, labels: dict[str, str], phrase: str):
        super().__init__(labels)
        self.phrase = phrase

    def label(self, turns, only=None, offset=0):
        out = super().label(turns, only, offset)
        last = len(as_turns(turns)) - 1 + offset
        return [Labelled(it.sentence, it.turn, it.source, it.role, "question", 1.0, it.proba)
                if self.phrase in it.text and it.turn < last else it for it in out]


def test_a_question_the_reread_finds_right_after_an_open_one_joins_it(run, store):
    reg, _ = run
    conv = Conversation(id=conversation_id("p", "join", "2026-01-03"), project="p", title="join")
    store.create_conversation(conv)
    extractor = Extractor(reg, None, Settings(),
                          classifier=ReplyOnly({"ariadne or": "question"}, "not sure yet which one"))
    for seq, content in enumerate(["for rendering the diagnostics: ariadne or codespan-reporting? not sure yet "
                                   "which one", "Both work; ariadne has nicer labels."]):
        turn = Turn(id=message_id(conv.id, f"m{seq}", None), conversation_id=conv.id, seq=seq,
                    role=Role.USER if seq % 2 == 0 else Role.ASSISTANT, content=content)
        store.insert_turn(turn, "p")
        assert extractor.process_turn(turn, conv).ok
    [thread] = reg.threads("p")
    assert thread.question.endswith("ariadne or codespan-reporting?")
