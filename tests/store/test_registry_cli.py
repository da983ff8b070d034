"""`forge decisions|threads|conflicts|revalidate|resolve|choose` and ``knowledge_view``."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from forge_tui.cli import main
from forge_tui.config import Settings
from forge_tui.domain.models import utcnow
from forge_tui.knowledge.decay import carry_into_continuation
from forge_tui.knowledge.registry import Registry
from forge_tui.knowledge.view import knowledge_view


@pytest.fixture
def reg(store):
    return Registry(store)


@pytest.fixture
def forge(db, mongo_uri, tmp_path, monkeypatch):
    monkeypatch.setenv("FORGE_DB", db.name)

    def run(*argv: str) -> int:
        return main(["--mongo-uri", mongo_uri, "--data-dir", str(tmp_path / "data"), *argv])

    return run


@pytest.fixture
def seeded(reg):
    reg.record_decision("ledger", "Use PostgreSQL for the main database.", tier=0.9, priority="high", sources=["m1"])
    reg.record_decision("ledger", "Switch to SQLite instead for the main database.", sources=["m2"])
    reg.record_decision("ledger", "Use Redis for caching.", priority="low")
    reg.record_decision("ledger", "Use Memcached for caching.")
    reg.record_decision("other", "Use MySQL for the main database.")
    reg.open_thread("ledger", "Pick a message queue", sources=["m3"])
    reg.open_thread("ledger", "Write the README")
    reg.resolve_thread("ledger", "T002")
    return reg


def test_decisions_plain_and_json(forge, seeded, capsys):
    assert forge("decisions", "--project", "ledger") == 0
    out = capsys.readouterr().out
    assert "D002  tier 0.5  medium   Switch to SQLite instead for the main database.  (supersedes D001)" in out
    assert "D001  " not in out and "D004  tier 0.5  medium   Use Memcached for caching.  (conflicts with D003)" in out
    assert forge("decisions", "--project", "ledger", "--all", "--json") == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["id"], r["status"]) for r in rows] == [
        ("D001", "superseded"), ("D002", "active"), ("D003", "active"), ("D004", "active"),
    ]
    assert rows[0]["superseded_by"] == "D002" and rows[0]["source_message_id"] == "m1"


def test_global_project_option_is_kept(forge, seeded, capsys):
    assert forge("--project", "other", "decisions") == 0
    assert "Use MySQL" in capsys.readouterr().out


def test_threads(forge, seeded, capsys):
    assert forge("threads", "--project", "ledger") == 0
    out = capsys.readouterr().out
    assert "T001  OPEN      medium   Pick a message queue" in out and "T002  RESOLVED" in out
    assert forge("threads", "--project", "ledger", "--json") == 0
    assert [r["status"] for r in json.loads(capsys.readouterr().out)] == ["OPEN", "RESOLVED"]


def test_conflicts_and_choose(forge, seeded, capsys):
    assert forge("conflicts", "--json") == 0
    rows = json.loads(capsys.readouterr().out)
    kinds = sorted((r["project"], r["kind"]) for r in rows)
    assert kinds == [("ledger", "ambiguous"), ("other", "cross_project")]
    assert forge("conflicts") == 0
    out = capsys.readouterr().out
    assert "BLOCKED cross-project" in out and 'vs ledger/D002 "Switch to SQLite' in out
    assert forge("choose", "C001", "supersede", "--project", "other") == 2
    assert "never cross projects" in capsys.readouterr().err
    assert forge("choose", "C001", "keep_both", "--project", "ledger") == 0
    assert capsys.readouterr().out == "ledger/C001 settled: keep_both\n"
    assert forge("conflicts", "--project", "ledger", "--json") == 0
    assert [r["kind"] for r in json.loads(capsys.readouterr().out)] == ["cross_project"]


def test_revalidate_and_resolve_errors_are_one_line(forge, seeded, capsys):
    assert forge("revalidate", "D042", "--project", "ledger") == 2
    err = capsys.readouterr().err
    assert err.startswith("forge: No decision 'D042' in project 'ledger'") and "Traceback" not in err
    assert forge("resolve", "T009", "--project", "ledger") == 2
    assert "No thread 'T009'" in capsys.readouterr().err
    assert forge("revalidate", "d003", "--project", "ledger") == 0
    assert "D003 revalidated" in capsys.readouterr().out
    assert forge("resolve", "T001", "--project", "ledger", "--note", "NATS") == 0
    assert "T001 resolved" in capsys.readouterr().out


def test_knowledge_view_snapshot(seeded):
    carry_into_continuation(seeded, "ledger", ["D002"], "c1")
    carry_into_continuation(seeded, "ledger", ["D002"], "c2")
    view = knowledge_view(seeded, "ledger", Settings(decay_max_hops=1), utcnow())
    assert [d["id"] for d in view["decisions"]] == ["D002", "D004", "D003"]  # medium before low
    d2 = view["decisions"][0]
    assert d2["decay"] and "2 sessions" in d2["decay_reason"] and d2["source_message_id"] == "m2"
    assert [(t["id"], t["status"]) for t in view["threads"]] == [("T001", "OPEN"), ("T002", "RESOLVED")]
    assert [t["id"] for t in view["open_threads"]] == ["T001"]
    assert [t["id"] for t in view["resolved_threads"]] == ["T002"]
    [conflict] = [c for c in view["conflicts"] if c["kind"] == "ambiguous"]
    assert conflict["new_text"] == "Use Memcached for caching." and conflict["existing_text"] == "Use Redis for caching."
    assert conflict["choices"] == ["keep_both", "supersede", "reject"]
    assert view["counts"] == {"decisions": 3, "decaying": 1, "open_threads": 1, "conflicts": 2, "pending_choices": 1}
    later = knowledge_view(seeded, "ledger", Settings(), utcnow() + timedelta(days=31))
    assert all(d["decay"] for d in later["decisions"])
