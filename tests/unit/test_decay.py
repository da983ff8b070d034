"""Decay with controlled clocks and lineage hops; re-hydration on continue."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from forge_tui.config import Settings
from forge_tui.knowledge.decay import carry_into_continuation, decay_reason, needs_revalidation, rehydrate
from forge_tui.knowledge.records import Decision
from forge_tui.knowledge.registry import Registry
from forge_tui.store.repository import Store
from forge_tui.store.schema import ensure_schema

T0 = datetime(2026, 3, 1, tzinfo=timezone.utc)
SETTINGS = Settings(decay_max_age_days=30, decay_max_hops=2)


def decision(last_validated=T0, hops=0) -> Decision:
    return Decision(uid="u", id="D001", project="p", text="Use X for Y.", last_validated=last_validated, hops=hops)


class Clock:
    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return Clock(T0)


@pytest.fixture
def reg(db, clock):
    ensure_schema(db)
    return Registry(Store(db), clock=clock)


def test_fresh_decision_does_not_decay():
    assert not needs_revalidation(decision(), T0 + timedelta(days=30), SETTINGS)
    assert decay_reason(decision(hops=2), T0, SETTINGS) is None


def test_age_past_the_limit_flags_it():
    reason = decay_reason(decision(), T0 + timedelta(days=31), SETTINGS)
    assert reason == "not validated for 31 days (limit 30)"


def test_hops_past_the_limit_flag_it():
    assert decay_reason(decision(hops=3), T0, SETTINGS) == "carried through 3 sessions unchecked (limit 2)"


def test_both_reasons_are_reported():
    reason = decay_reason(decision(hops=5), T0 + timedelta(days=90), SETTINGS)
    assert "90 days" in reason and "5 sessions" in reason


def test_thresholds_come_from_settings():
    d = decision(hops=1)
    assert needs_revalidation(d, T0, Settings(decay_max_hops=0))
    assert not needs_revalidation(d, T0 + timedelta(days=400), Settings(decay_max_age_days=365 * 2))


def test_hops_then_revalidate_resets(reg, clock):
    d = reg.record_decision("p", "Use PostgreSQL for the database.").decision
    for n in range(3):
        carry_into_continuation(reg, "p", [d.id], f"conv-{n}")
    d = reg.get_decision("p", d.id)
    assert d.hops == 3 and needs_revalidation(d, clock.now, SETTINGS)
    clock.now = T0 + timedelta(days=40)
    d = reg.revalidate("p", d.id)
    assert d.hops == 0 and d.last_validated == clock.now
    assert not needs_revalidation(d, clock.now + timedelta(days=29), SETTINGS)
    assert needs_revalidation(d, clock.now + timedelta(days=31), SETTINGS)


def test_same_continuation_counts_once(reg):
    d = reg.record_decision("p", "Use PostgreSQL for the database.").decision
    carry_into_continuation(reg, "p", [d.id], "conv-a")
    carry_into_continuation(reg, "p", [d.id], "conv-a")
    assert reg.get_decision("p", d.id).hops == 1


def test_rehydrate_uses_the_registry_as_ground_truth(reg):
    keep = reg.record_decision("p", "Use PostgreSQL for the main database.").decision
    gone = reg.record_decision("p", "Use 2% risk per trade.").decision
    reg.record_decision("p", "Use 3% risk per trade.")  # supersedes `gone`
    t = reg.open_thread("p", "Pick a queue")
    archive = {
        "header": {"project": "p", "archive_id": "a-1"},
        "decisions": [
            {"id": keep.id, "text": keep.text, "tier": 0.9, "priority": "high"},
            {"id": gone.id, "text": gone.text, "tier": 0.9, "priority": "high"},
            {"id": "D077", "text": "Keep `setup.py` out of the repo.", "tier": 0.6, "priority": "critical"},
        ],
        "threads": [{"id": t.id, "title": t.title, "status": "OPEN"}, {"id": "T050", "title": "Write docs", "status": "OPEN"}],
    }
    out = rehydrate(reg, archive, "conv-next")
    assert out.skipped == [gone.id] and out.recorded == ["D077"]
    by_text = {d.text: d for d in out.decisions}
    assert by_text[keep.text].hops == 1
    assert by_text["Keep `setup.py` out of the repo."].hops == 1
    assert by_text["Keep `setup.py` out of the repo."].sources == ["a-1"]
    assert sorted(x.title for x in out.threads) == ["Pick a queue", "Write docs"]
    again = rehydrate(reg, archive, "conv-next")
    assert reg.get_decision("p", keep.id).hops == 1 and len(again.decisions) == 2
    assert all(d.hops == 1 for d in again.decisions)  # re-reading an archive is not a revalidation
