"""Decision/thread registry on a real SecantusDB: ids, events, errors, conflicts."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest

from forge_tui.domain.ids import is_uuid8
from forge_tui.knowledge.errors import KnowledgeError
from forge_tui.knowledge.registry import Registry
from forge_tui.store.repository import Store
from forge_tui.store.schema import ensure_schema


class FakeClock:
    def __init__(self):
        self.now = datetime(2026, 1, 1, tzinfo=timezone.utc)

    def __call__(self):
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture
def reg(db):
    ensure_schema(db)
    return Registry(Store(db), clock=FakeClock())


def test_ids_are_per_project_and_uuid8_underneath(reg):
    a = reg.record_decision("alpha", "Use PostgreSQL for the database.", sources=["m1"]).decision
    b = reg.record_decision("alpha", "Use pytest for the test runner.").decision
    c = reg.record_decision("beta", "Use black for the formatter.").decision
    assert (a.id, b.id, c.id) == ("D001", "D002", "D001")
    assert is_uuid8(a.uid) and a.uid != c.uid
    assert a.source_message_id == "m1" and a.status == "active" and a.hops == 0
    assert a.last_validated == a.created_at


def test_counter_is_atomic_under_concurrency(reg):
    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = list(pool.map(lambda _: reg.next_short_id("p", "D"), range(40)))
    assert sorted(ids) == [f"D{i:03d}" for i in range(1, 41)]


def test_every_change_writes_an_event(reg):
    d = reg.record_decision("p", "Use Redis for caching.", who="extractor", why="turn 3").decision
    reg.revalidate("p", d.id, who="user", why="still true")
    kinds = [e["what"] for e in reg.events.for_target(d.id)]
    assert kinds == ["decision_created", "decision_revalidated"]
    first = reg.events.for_target(d.id)[0]
    assert first["who"] == "extractor" and first["why"] == "turn 3" and first["at"] is not None


def test_restatement_merges_sources(reg):
    a = reg.record_decision("p", "Let's use PostgreSQL for the database.", sources=["m1"]).decision
    out = reg.record_decision("p", "We will use PostgreSQL for the database", sources=["m7"], tier=0.9)
    assert out.action == "merged" and out.decision.id == a.id
    assert out.decision.sources == ["m1", "m7"] and out.decision.tier == 0.9
    assert [d.id for d in reg.active_decisions("p")] == [a.id]


def test_reversal_supersedes_and_keeps_the_old_one(reg, store):
    old = reg.record_decision("p", "Use PostgreSQL for the main database.").decision
    out = reg.record_decision("p", "Actually, switch to SQLite instead for the main database.")
    assert out.action == "superseded" and out.superseded == [old.id]
    kept = reg.get_decision("p", old.id)
    assert kept.status == "superseded" and kept.superseded_by == out.decision.id
    assert out.decision.supersedes == [old.id] and old.id in out.decision.conflicts_with
    assert sorted(e["kind"] for e in store.edges_from(out.decision.uid)) == ["conflicts_with", "supersedes"]
    assert [d.id for d in reg.active_decisions("p")] == [out.decision.id]


def test_ambiguous_clash_is_pending_until_chosen(reg):
    old = reg.record_decision("p", "Use Redis for caching.").decision
    out = reg.record_decision("p", "Use Memcached for caching.")
    assert out.action == "pending_conflict"
    [conflict] = reg.pending_conflicts("p")
    assert (conflict.id, conflict.kind, conflict.status) == ("C001", "ambiguous", "pending")
    assert (conflict.new, conflict.existing) == (out.decision.id, old.id)
    settled = reg.choose("C001", "supersede", project="p")
    assert settled.status == "resolved" and settled.choice == "supersede"
    assert reg.get_decision("p", old.id).status == "superseded"
    assert reg.pending_conflicts() == []
    with pytest.raises(KnowledgeError, match="already settled"):
        reg.choose("C001", "reject", project="p")


@pytest.mark.parametrize(("choice", "old_status", "new_status"), [("keep_both", "active", "active"), ("reject", "active", "rejected")])
def test_other_choices(reg, choice, old_status, new_status):
    old = reg.record_decision("p", "Use Redis for caching.").decision
    new = reg.record_decision("p", "Use Memcached for caching.").decision
    reg.choose(reg.pending_conflicts()[0].uid, choice)
    assert reg.get_decision("p", old.id).status == old_status
    assert reg.get_decision("p", new.id).status == new_status


def test_cross_project_clash_is_blocked_and_never_supersedes(reg):
    theirs = reg.record_decision("beta", "Use PostgreSQL for the main database.").decision
    out = reg.record_decision("alpha", "Switch to SQLite instead for the main database.")
    assert out.action == "blocked"
    assert reg.get_decision("beta", theirs.id).status == "active"
    assert reg.get_decision("beta", theirs.id).conflicts_with == []
    assert out.decision.conflicts_with == ["beta/D001"]
    [conflict] = reg.pending_conflicts("beta")
    assert conflict.kind == "cross_project" and conflict.status == "blocked"
    with pytest.raises(KnowledgeError, match="never cross projects"):
        reg.choose(conflict.id, "supersede", project="alpha")
    reg.choose(conflict.id, "keep_both", project="alpha")
    assert reg.get_decision("beta", theirs.id).status == "active"


def test_different_scopes_coexist(reg):
    a = reg.record_decision("p", "Use 5% risk per trade in backtests only.")
    b = reg.record_decision("p", "Use 2% risk per trade live.")
    assert (a.action, b.action) == ("created", "created")
    assert len(reg.active_decisions("p")) == 2 and reg.pending_conflicts() == []


def test_unknown_ids_and_bad_input_raise_clear_errors(reg):
    with pytest.raises(KnowledgeError, match=r"No decision 'D042' in project 'p'.*forge decisions"):
        reg.revalidate("p", "D042")
    with pytest.raises(KnowledgeError, match=r"No thread 'T009'"):
        reg.resolve_thread("p", "T009")
    with pytest.raises(KnowledgeError, match="No conflict"):
        reg.choose("C404", "keep_both")
    with pytest.raises(KnowledgeError, match="Unknown choice"):
        reg.choose("C001", "merge")
    with pytest.raises(KnowledgeError, match="Tier"):
        reg.record_decision("p", "Use X for Y.", tier=1.5)
    with pytest.raises(KnowledgeError, match="non-empty"):
        reg.record_decision("p", "   ")
    assert reg.decisions(include_inactive=True) == []


def test_threads_open_dedupe_resolve(reg):
    t = reg.open_thread("p", "Pick a message queue", sources=["m1"])
    again = reg.open_thread("p", "pick a message queue!", sources=["m2"])
    assert t.id == again.id == "T001" and again.sources == ["m1", "m2"]
    other = reg.open_thread("p", "Benchmark the importer", priority="high")
    assert other.id == "T002"
    done = reg.resolve_thread("p", "t001", resolution="went with NATS")
    assert done.status == "RESOLVED" and done.resolution == "went with NATS"
    reg.resolve_thread("p", "T002", status="ABANDONED")
    assert [(x.id, x.status) for x in reg.threads("p")] == [("T001", "RESOLVED"), ("T002", "ABANDONED")]
    assert reg.threads("p", status="open") == []
    with pytest.raises(KnowledgeError, match="already RESOLVED"):
        reg.resolve_thread("p", "T001")
    assert [e["what"] for e in reg.events.for_target("T001")] == ["thread_opened", "thread_resolved"]
