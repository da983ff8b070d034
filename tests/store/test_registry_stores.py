"""Pattern store and scratchpad on a real SecantusDB."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from forge_tui.knowledge.errors import KnowledgeError
from forge_tui.knowledge.patterns import PatternStore, fingerprint
from forge_tui.knowledge.registry import Registry
from forge_tui.knowledge.scratchpad import Scratchpad
from forge_tui.store.repository import Store
from forge_tui.store.schema import ensure_schema


class Clock:
    def __init__(self):
        self.now = datetime(2026, 5, 1, tzinfo=timezone.utc)

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def reg(db, clock):
    ensure_schema(db)
    return Registry(Store(db), clock=clock)


def test_fingerprint_ignores_names_literals_comments_layout():
    a = "def add_one(a):\n    # bump\n    return a + 1\n"
    b = "def inc(x):  return x + 2  # other"
    c = "def inc(x):\n    return x * 2\n"
    assert fingerprint(a) == fingerprint(b) != fingerprint(c)
    with pytest.raises(KnowledgeError, match="empty"):
        fingerprint("# only a comment")


def test_same_pattern_merges_and_gains_confidence(reg):
    store = PatternStore(reg)
    p1, created1 = store.absorb("p", "def f(a):\n    return a + 1", language="python", sources=["m1"])
    p2, created2 = store.absorb("p", "def g(b): return b + 5", sources=["m2"])
    p3, created3 = store.absorb("p", "for i in range(3):\n    print(i)", sources=["m3"])
    assert (created1, created2, created3) == (True, False, True)
    assert p2.id == p1.id == "P001" and p3.id == "P002"
    assert p2.occurrences == 2 and p2.confidence > p1.confidence and p2.sources == ["m1", "m2"]
    assert store.absorb("q", "def f(a):\n    return a + 1")[0].id == "P001"  # per project


def test_use_counts_retrievals_and_ranks(reg):
    store = PatternStore(reg)
    a, _ = store.absorb("p", "x = [i for i in y]")
    b, _ = store.absorb("p", "with open(p) as fh:\n    fh.read()")
    store.use("p", b.id)
    store.use("p", b.id)
    assert store.get("p", b.id).retrieval_count == 2
    assert [x.id for x in store.patterns("p")] == [b.id, a.id]
    with pytest.raises(KnowledgeError, match="No pattern 'P404'"):
        store.use("p", "P404")
    assert [e["what"] for e in reg.events.for_target(b.id) if e["project"] == "p"] == [
        "pattern_created", "pattern_used", "pattern_used",
    ]


def test_scratchpad_ttl_and_expired_reads(db, clock):
    ensure_schema(db)
    pad = Scratchpad(Store(db), clock=clock)
    pad.set("draft", {"step": 2}, ttl_s=60)
    pad.set("draft", {"step": 1}, ttl_s=60, project="other")
    assert pad.get("draft") == {"step": 2} and pad.has("draft")
    assert pad.items(project="other") == {"draft": {"step": 1}}
    clock.now += timedelta(seconds=61)
    assert pad.get("draft") is None and not pad.has("draft")  # expired, whatever the TTL sweeper did
    pad.set("draft", "again", ttl_s=5)
    assert pad.get("draft") == "again"
    assert pad.delete("draft") and pad.get("draft", "gone") == "gone"
    ttl = [ix for ix in db["scratchpad"].list_indexes() if "expireAfterSeconds" in ix]
    assert ttl and ttl[0]["key"] == {"expires_at": 1}
    with pytest.raises(KnowledgeError, match="ttl_s"):
        pad.set("k", 1, ttl_s=0)
