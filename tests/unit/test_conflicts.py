"""Every branch of the conflict policy, on pure values (no database)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

import pytest

from forge_tui.knowledge import conflicts as policy


@dataclass
class D:
    text: str
    project: str = "p"
    created_at: datetime | None = datetime(2026, 1, 2, tzinfo=timezone.utc)
    embedding: list[float] | None = None
    scope: str = ""
    subject: str = ""
    key: str = ""
    artifacts: list[str] = field(default_factory=list)

    def __post_init__(self):
        f = policy.facets(self.text)
        self.scope = self.scope or f.scope
        self.subject = self.subject or f.subject
        self.key = self.key or f.key
        self.artifacts = self.artifacts or list(f.artifacts)


OLDER = datetime(2026, 1, 1, tzinfo=timezone.utc)


def test_facets_from_text():
    f = policy.facets("Use 5% risk per trade in backtests only.")
    assert (f.scope, f.key) == ("backtest", "#% risk per trade")
    assert policy.facets("Let's go with PostgreSQL for the main database.").subject == "main database"
    assert policy.facets("Set the batch size to 32.").subject == "batch size"
    assert policy.facets("Edit `config.toml` to disable telemetry.").artifacts == ("config.toml",)
    assert policy.facets("Use 2% risk per trade live.").scope == "live"
    assert policy.facets("Use Redis.").subject == ""


def test_unrelated_decisions_do_not_overlap():
    assert policy.assess(D("Use Redis for caching."), D("Use pytest for the test runner.")).kind == policy.NONE


def test_restatement_is_merged():
    v = policy.assess(D("We will use PostgreSQL for the database."), D("Let's use PostgreSQL for the database.", created_at=OLDER))
    assert (v.kind, v.basis) == (policy.RESTATEMENT, "subject")


def test_same_key_new_value_supersedes():
    v = policy.assess(D("Use 3% risk per trade."), D("Use 2% risk per trade.", created_at=OLDER))
    assert (v.kind, v.basis) == (policy.SUPERSEDE, "key")


def test_same_subject_with_reversal_supersedes():
    v = policy.assess(
        D("Actually, switch to SQLite instead for the main database."),
        D("Use PostgreSQL for the main database.", created_at=OLDER),
    )
    assert (v.kind, v.basis) == (policy.SUPERSEDE, "subject")


def test_same_subject_without_reversal_is_ambiguous():
    v = policy.assess(D("Use Memcached for caching."), D("Use Redis for caching.", created_at=OLDER))
    assert (v.kind, v.basis) == (policy.AMBIGUOUS, "subject")


def test_shared_artifact_overlaps():
    v = policy.assess(D("Keep `config.toml` minimal."), D("Put every option in `config.toml`.", created_at=OLDER))
    assert (v.kind, v.basis) == (policy.AMBIGUOUS, "artifact")


def test_older_statement_never_auto_supersedes():
    v = policy.assess(D("Use 3% risk per trade.", created_at=OLDER), D("Use 2% risk per trade."))
    assert v.kind == policy.AMBIGUOUS


def test_cross_project_clash_is_blocked():
    v = policy.assess(D("Use 3% risk per trade.", project="a"), D("Use 2% risk per trade.", project="b", created_at=OLDER))
    assert v.kind == policy.CROSS_PROJECT and "'b'" in v.reason


def test_cross_project_restatement_is_not_a_clash():
    v = policy.assess(D("Use 2% risk per trade.", project="a"), D("Use 2% risk per trade.", project="b"))
    assert v.kind == policy.NONE


@pytest.mark.parametrize(
    ("new", "old"),
    [
        ("Use 2% risk per trade live.", "Use 5% risk per trade in backtests only."),
        ("Use 2% risk per trade in production.", "Use 2% risk per trade."),
    ],
)
def test_different_scopes_are_not_a_conflict(new, old):
    v = policy.assess(D(new), D(old, created_at=OLDER))
    assert v.kind == policy.NONE and v.basis == "key" and "different scopes" in v.reason


def test_embedding_overlap_and_restatement():
    near, same, far = [1.0, 0.0, 0.1], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]
    old = D("Prefer small pull requests.", embedding=same, created_at=OLDER)
    assert policy.assess(D("Keep PRs tiny.", embedding=far), old).kind == policy.NONE
    v = policy.assess(D("Keep PRs tiny.", embedding=[1.0, 0.0, 0.6]), old)
    assert (v.kind, v.basis) == (policy.AMBIGUOUS, "embedding")
    assert policy.assess(D("Favor small pull requests.", embedding=near), old).kind == policy.RESTATEMENT


def test_plan_drops_non_conflicts():
    new = D("Use 3% risk per trade.")
    pairs = policy.plan(new, [D("Use Redis for caching."), D("Use 2% risk per trade.", created_at=OLDER)])
    assert [v.kind for _, v in pairs] == [policy.SUPERSEDE]


def test_scoped_reversal_of_a_general_rule_asks():
    v = policy.assess(
        D("Actually, switch to SQLite instead for the main database while we prototype."),
        D("Use PostgreSQL for the main database.", created_at=OLDER),
    )
    assert v.kind == policy.AMBIGUOUS and "different scope" in v.reason


_SUBJECTS = ["the main database", "caching", "the test runner", "logging"]
_VERBS = ["Use", "Let's use", "Actually, switch to", "We'll go with"]
_THINGS = ["Redis", "PostgreSQL", "SQLite", "pytest", "NATS"]
_SCOPES = ["", " in backtests only", " live", " in production", " while we prototype"]


def _statement(draw, st):
    return f"{draw(st.sampled_from(_VERBS))} {draw(st.sampled_from(_THINGS))} for {draw(st.sampled_from(_SUBJECTS))}" + draw(
        st.sampled_from(_SCOPES)
    ) + "."


def test_policy_invariants_hold_for_generated_pairs():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    @st.composite
    def pair(draw):
        return D(_statement(draw, st), project=draw(st.sampled_from("ab"))), D(_statement(draw, st), created_at=OLDER)

    @settings(max_examples=300, deadline=None)
    @given(pair())
    def check(p):
        new, old = p
        v = policy.assess(new, old)
        if new.project != old.project:  # never merged or superseded across projects
            assert v.kind in (policy.NONE, policy.CROSS_PROJECT)
        if new.scope and old.scope and new.scope != old.scope:  # two different scopes never clash
            assert v.kind == policy.NONE
        if v.kind == policy.NONE and v.basis == "":
            assert policy.overlap_basis(new, old) == ""

    check()
