"""Hand corrections: pin, dismiss, edit, resolve from the CLI; kept across restarts; exported for retraining."""

from __future__ import annotations

import json

import pytest

from forge_tui.cli import main
from forge_tui.domain.ids import conversation_id, message_id
from forge_tui.domain.models import Conversation, Role, Turn
from forge_tui.knowledge.registry import Registry


@pytest.fixture
def forge(db, mongo_uri, tmp_path, monkeypatch):
    monkeypatch.setenv("FORGE_DB", db.name)

    def run(*argv: str) -> int:
        return main(["--mongo-uri", mongo_uri, "--data-dir", str(tmp_path / "data"), "--project", "shop", *argv])

    return run


@pytest.fixture
def turn(store):
    conv = Conversation(id=conversation_id("shop", "chat", "2026-01-01"), project="shop", title="chat")
    store.create_conversation(conv)
    t = Turn(id=message_id(conv.id, "m0", None), conversation_id=conv.id, seq=0, role=Role.USER,
             content="Free shipping starts at 50 euros. Never stack the welcome code with a subscription.")
    store.insert_turn(t, "shop")
    return t


def test_pin_dismiss_edit_resolve_survive_a_restart(forge, store, turn, capsys):
    assert forge("decisions", "add", "Free shipping starts at 50 euros.", "--turn", turn.id) == 0
    assert forge("decisions", "add", "--constraint", "Never stack the welcome code with a subscription.") == 0
    assert forge("threads", "add", "not sure yet whether we ship to Switzerland") == 0
    assert forge("decisions", "dismiss", "D002", "--why", "not a rule after all") == 0
    assert forge("decisions", "edit", "D001", "Free shipping from €50") == 0
    assert forge("threads", "resolve", "T001", "--note", "yes, via DHL", "--turn", turn.id) == 0
    out = capsys.readouterr().out
    assert "D001 pinned as decision" in out and "T001 pinned as question: Whether we ship to Switzerland" in out

    fresh = Registry(store)  # a restart: nothing but what the database holds
    d1, d2 = fresh.get_decision("shop", "D001"), fresh.get_decision("shop", "D002")
    assert (d1.text, d1.pinned, d1.sources, d1.status) == ("Free shipping from €50", True, [turn.id], "active")
    assert d2.status == "dismissed" and d2.kind == "constraint"
    t1 = fresh.get_thread("shop", "T001")
    assert (t1.status, t1.resolution, t1.resolution_sources) == ("RESOLVED", "yes, via DHL", [turn.id])
    whats = [e["what"] for e in fresh.events.recent("shop", limit=50)]
    assert {"decision_dismissed", "decision_edited", "thread_resolved"} <= set(whats)

    assert forge("decisions", "--json") == 0
    assert [r["id"] for r in json.loads(capsys.readouterr().out)] == ["D001"]  # the dismissed one is hidden…
    assert forge("decisions", "--all", "--json") == 0
    assert {r["id"]: r["status"] for r in json.loads(capsys.readouterr().out)}["D002"] == "dismissed"  # …not lost


def test_unknown_ids_fail_cleanly_and_change_nothing(forge, store, capsys):
    before = store.db["events"].count_documents({})
    for argv in (("decisions", "dismiss", "D042"), ("decisions", "edit", "D042", "x"), ("threads", "resolve", "T009"),
                 ("threads", "dismiss", "X1"), ("decisions", "add", "--turn", "no-such-message")):
        assert forge(*argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("forge: ") and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert store.db["events"].count_documents({}) == before
    assert store.db["decisions"].count_documents({}) == 0


def test_corrections_export_as_labelled_sentences(forge, store, turn, tmp_path, capsys):
    forge("decisions", "add", "--turn", turn.id)
    forge("threads", "add", "TBD: the Swiss shipping")
    forge("threads", "dismiss", "T001")
    out = tmp_path / "labels.jsonl"
    assert forge("dataset", "extraction", "-o", str(out)) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["label"], r["action"]) for r in rows] == [("decision", "pin"), ("question", "pin"), ("other", "dismiss")]
    assert rows[0]["text"] == turn.content and rows[2]["text"] == "TBD: the Swiss shipping"
