"""Rename, delete (to the trash), restore and purge: the store, search and `forge sessions`,
on the real SecantusDB server."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta, timezone

import pytest

from forge_tui.cli import main
from forge_tui.domain.models import TRASH_PROJECT, Conversation, Role, Turn, utcnow
from forge_tui.search.hybrid import SearchService
from forge_tui.search.retrieval import retrieve_context

WHEN = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


def _conversation(store, cid: str, project: str, title: str, texts: list[str]) -> list[str]:
    store.create_conversation(Conversation(id=cid, project=project, title=title, created_at=WHEN, updated_at=WHEN))
    ids = []
    for seq, text in enumerate(texts):
        mid = f"{cid}-m{seq}"
        at = WHEN + timedelta(minutes=seq)
        store.insert_turn(Turn(id=mid, conversation_id=cid, seq=seq, role=Role.USER if seq % 2 == 0 else Role.ASSISTANT,
                               content=text, created_at=at, updated_at=at), project)
        ids.append(mid)
    return ids


@pytest.fixture
def two(store):
    slugs = _conversation(store, "aaaa1111", "garden", "Slugs", ["How do I stop slugs eating the lettuce?",
                                                                 "Beer traps and copper tape keep slugs off the lettuce."])
    compost = _conversation(store, "aaaa2222", "garden", "Compost", ["My compost heap smells of ammonia.",
                                                                    "Add brown material: cardboard, dry leaves."])
    return store, slugs, compost


def test_trash_keeps_turns_and_project_and_restore_brings_it_back(two):
    store, slugs, _ = two
    trashed = store.trash_conversation("aaaa1111", now=WHEN)
    assert trashed.project == TRASH_PROJECT and trashed.trashed_from == "garden" and trashed.in_trash
    assert [t.id for t in store.turns("aaaa1111")] == slugs  # the turns stay
    assert [c.id for c in store.list_conversations()] == ["aaaa2222"]
    assert [c.id for c in store.list_conversations(project="garden")] == ["aaaa2222"]
    assert [c.id for c in store.list_conversations(project=TRASH_PROJECT)] == ["aaaa1111"]
    assert store.trashed_message_ids() == set(slugs)
    again = store.trash_conversation("aaaa1111", now=WHEN + timedelta(days=3))
    assert again.trashed_at == WHEN  # trashing twice keeps the first date

    restored = store.restore_conversation("aaaa1111")
    assert restored.project == "garden" and not restored.in_trash and restored.trashed_from is None
    assert {c.id for c in store.list_conversations(project="garden")} == {"aaaa1111", "aaaa2222"}
    assert store.list_conversations(project=TRASH_PROJECT) == [] and store.trashed_message_ids() == set()
    assert store.trash_conversation("nope") is None and store.restore_conversation("nope") is None


def test_rename_strips_and_refuses_a_blank_title(two):
    store, _, _ = two
    assert store.rename_conversation("aaaa1111", "  Slugs   and snails ").title == "Slugs and snails"
    with pytest.raises(ValueError, match="title is empty"):
        store.rename_conversation("aaaa1111", "   ")
    assert store.get_conversation("aaaa1111").title == "Slugs and snails"


def test_purge_removes_only_what_is_older_than_30_days(two):
    store, slugs, compost = two
    _conversation(store, "bbbb3333", "garden", "Kept", ["Tomatoes need staking."])
    now = utcnow()
    store.trash_conversation("aaaa1111", now=now - timedelta(days=31))
    store.trash_conversation("aaaa2222", now=now - timedelta(days=29))
    store.db["embeddings"].insert_many([{"_id": f"{m}:x", "message_id": m, "model": "x"} for m in slugs + compost])

    assert [c.id for c in store.purge_trash(now=now)] == ["aaaa1111"]
    assert store.get_conversation("aaaa1111") is None and store.turns("aaaa1111") == []
    assert store.db["embeddings"].count_documents({"message_id": {"$in": slugs}}) == 0
    assert [t.id for t in store.turns("aaaa2222")] == compost  # 29 days: still restorable
    assert store.db["embeddings"].count_documents({"message_id": {"$in": compost}}) == 2
    assert store.get_conversation("bbbb3333") is not None
    assert store.purge_trash(now=now) == []


def test_trashed_turns_leave_search_and_retrieval_until_restored(two):
    store, slugs, _ = two
    search = SearchService(store, None)
    assert slugs[1] in {h.message_id for h in search.search("slugs lettuce beer traps")}
    before = retrieve_context(store, None, "garden", "how to keep slugs off lettuce with beer traps",
                              budget_tokens=600, search=search)
    assert any(i.source.startswith("message:aaaa1111") for i in before)

    store.trash_conversation("aaaa1111")
    assert search.search("slugs lettuce beer traps") == []
    assert search.search("slugs lettuce", project="garden") == []
    items = retrieve_context(store, None, "garden", "how to keep slugs off lettuce with beer traps",
                             budget_tokens=600, search=search)
    assert not any(i.source.startswith("message:aaaa1111") for i in items)

    store.restore_conversation("aaaa1111")
    assert slugs[1] in {h.message_id for h in search.search("slugs lettuce beer traps")}


# -- the CLI ---------------------------------------------------------------------------------

@pytest.fixture
def forge(db, mongo_uri, tmp_path, monkeypatch, capsys):
    """Run ``forge ARGS`` against the test database with ``stdin`` as given; returns (rc, stdout, stderr)."""
    monkeypatch.setenv("FORGE_DB", db.name)
    monkeypatch.setenv("FORGE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("FORGE_MODELS", raising=False)

    def run(*args: str, stdin: io.StringIO | None = None):
        monkeypatch.setattr("sys.stdin", stdin if stdin is not None else io.StringIO(""))
        capsys.readouterr()
        rc = main(["--mongo-uri", mongo_uri, *args])
        out = capsys.readouterr()
        return rc, out.out, out.err

    return run


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_cli_rename_delete_restore_and_trash_listing(two, forge):
    store, _, _ = two
    rc, out, _ = forge("sessions", "rename", "aaaa1111", "Slugs", "and", "snails")
    assert rc == 0 and "'Slugs' -> 'Slugs and snails'" in out
    assert store.get_conversation("aaaa1111").title == "Slugs and snails"

    rc, out, err = forge("sessions", "delete", "aaaa1111")  # no terminal, no --yes
    assert rc == 2 and out == "" and err.strip().endswith("pass --yes") and len(err.strip().splitlines()) == 1
    assert not store.get_conversation("aaaa1111").in_trash

    rc, out, _ = forge("sessions", "delete", "aaaa1111", stdin=_Terminal("n\n"))
    assert rc == 1 and "to the trash?" in out and out.strip().endswith("kept")
    assert not store.get_conversation("aaaa1111").in_trash

    rc, out, _ = forge("sessions", "delete", "aaaa1111", stdin=_Terminal("y\n"))
    assert rc == 0 and "moved 'Slugs and snails' (aaaa1111) to the trash" in out
    assert store.get_conversation("aaaa1111").in_trash

    rc, out, _ = forge("sessions", "delete", "aaaa2222", "--yes")
    assert rc == 0 and store.get_conversation("aaaa2222").in_trash
    rc, out, _ = forge("sessions", "delete", "aaaa2222", "--yes")
    assert rc == 0 and "already in the trash" in out

    rc, out, _ = forge("sessions")
    assert "aaaa1111" not in out and "aaaa2222" not in out
    rc, out, _ = forge("sessions", "--trash", "--json")
    rows = json.loads(out)
    assert {r["id"] for r in rows} == {"aaaa1111", "aaaa2222"} and {r["from_project"] for r in rows} == {"garden"}
    rc, out, _ = forge("sessions", "--trash")
    assert rc == 0 and "Slugs and snails" in out and "purged after" in out

    rc, out, _ = forge("sessions", "restore", "aaaa1111")
    assert rc == 0 and "restored 'Slugs and snails' (aaaa1111) into project 'garden'" in out
    rc, out, _ = forge("sessions", "--project", "garden")
    assert "aaaa1111" in out and "aaaa2222" not in out
    rc, _, err = forge("sessions", "restore", "aaaa1111")
    assert rc == 2 and "is not in the trash" in err

    rc, out, _ = forge("sessions", "delete", "--purge")
    assert rc == 0 and "purged 0 conversation(s)" in out and store.get_conversation("aaaa2222") is not None


@pytest.mark.parametrize("args, message", [
    (("sessions", "rename", "zzzz", "New"), "no conversation with id 'zzzz'"),
    (("sessions", "delete", "aaaa", "--yes"), "'aaaa' matches 2 conversations"),
    (("sessions", "restore", " "), "the conversation id is empty"),
    (("sessions", "rename", "aaaa1111", " "), "the new title is empty"),
    (("sessions", "delete"), "name the conversation to delete"),
    (("sessions", "delete", "aaaa1111", "--purge"), "not both"),
])
def test_cli_bad_ids_are_one_line_errors(two, forge, args, message):
    store, _, _ = two
    rc, out, err = forge(*args)
    assert rc == 2 and out == "" and message in err and len(err.strip().splitlines()) == 1
    assert store.list_conversations(project=TRASH_PROJECT) == []
    assert store.get_conversation("aaaa1111").title == "Slugs"


def test_cli_sessions_list_is_the_listing_with_its_options_either_side(two, forge):
    rc, out, _ = forge("sessions", "list")
    assert rc == 0 and "aaaa1111" in out and "aaaa2222" in out
    rc, out, _ = forge("sessions", "--project", "garden", "list", "--json")
    assert rc == 0 and {r["id"] for r in json.loads(out)} == {"aaaa1111", "aaaa2222"}
    rc, out, _ = forge("sessions", "list", "--project", "kitchen")
    assert rc == 0 and "No conversations in project 'kitchen'" in out
