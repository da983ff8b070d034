"""`forge import …`, `forge export …`, `forge dataset lora` through the real CLI entry point."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from forge_tui.cli import main

EXPORTS = Path(__file__).resolve().parent.parent / "fixtures" / "exports"


@pytest.fixture
def forge(db, mongo_uri, tmp_path, monkeypatch):
    monkeypatch.setenv("FORGE_DB", db.name)

    def run(*argv: str) -> int:
        return main(["--mongo-uri", mongo_uri, "--data-dir", str(tmp_path / "data"), *argv])

    return run


def test_import_claude_zip_then_rerun_changes_nothing(forge, db, tmp_path, capsys):
    zpath = tmp_path / "claude-export.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        zf.write(EXPORTS / "claude_conversations.json", "conversations.json")
    assert forge("import", "claude", str(zpath), "--project", "ledger", "--no-pipeline") == 0
    out, err = capsys.readouterr()
    assert "Imported 2 new conversation(s), 6 new message(s)" in out
    assert "skipped conversation 'Untitled'" in out and "no messages with text" in out
    assert "import claude [" in err  # the progress bar
    assert forge("import", "claude", str(zpath), "--project", "ledger", "--no-pipeline") == 0
    out, _ = capsys.readouterr()
    assert "Imported 0 new conversation(s), 0 new message(s); 0 updated, 2 unchanged" in out
    assert db.conversations.count_documents({"project": "ledger"}) == 2


def test_bad_input_is_one_clear_line(forge, capsys, tmp_path):
    assert forge("import", "transcript", str(EXPORTS / "latin1_transcript.json")) == 2
    _, err = capsys.readouterr()
    assert err.startswith("forge: ") and "not UTF-8" in err and "Traceback" not in err
    assert forge("import", "claude", str(tmp_path / "missing.zip")) == 2
    assert "does not exist" in capsys.readouterr().err


def test_export_and_dataset_commands(forge, db, tmp_path, capsys):
    assert forge("import", "chatgpt", str(EXPORTS / "chatgpt_conversations.json"), "--no-pipeline") == 0
    cid = db.conversations.find_one({})["_id"]
    capsys.readouterr()
    assert forge("export", cid[:8]) == 0
    assert capsys.readouterr().out.startswith("# Rust haiku")
    target = tmp_path / "haiku.json"
    assert forge("export", cid, "--format", "json", "-o", str(target)) == 0
    assert json.loads(target.read_text(encoding="utf-8"))["title"] == "Rust haiku"
    assert forge("export", "--all", "-o", str(tmp_path / "all")) == 0
    assert "Exported 1 conversation(s)" in capsys.readouterr().out
    assert forge("export") == 2
    assert forge("dataset", "lora", "-o", str(tmp_path / "set.jsonl")) == 0
    assert "code_pattern: 0" in capsys.readouterr().out


def test_import_mongo_cli(forge, mongo_client, mongo_uri, capsys):
    legacy = mongo_client["legacy_cli_test"]
    legacy.message_embeddings.insert_one({"conversation_id": "c1", "role": "user", "content": "hello"})
    try:
        assert forge("import", "mongo", mongo_uri, "--db", "legacy_cli_test", "--no-pipeline") == 0
        out = capsys.readouterr().out
        assert "From Forge OS database 'legacy_cli_test'" in out and "1 new conversation(s)" in out
        assert forge("import", "mongo", mongo_uri, "--db", "empty_db_for_cli") == 2
        assert "--db NAME" in capsys.readouterr().err
    finally:
        mongo_client.drop_database("legacy_cli_test")


@pytest.mark.slow
def test_imported_messages_go_through_the_live_pipeline(forge, db, capsys):
    """Classifier labels and MiniLM embeddings, as for a live turn (loads the embedding model)."""
    assert forge("import", "claude", str(EXPORTS / "claude_conversations.json"), "--embed", "now") == 0
    assert db.messages.count_documents({}) == 6
    assert db.messages.count_documents({"labels.0": {"$exists": True}}) >= 1
    assert db["embeddings"].count_documents({}) == 6
    capsys.readouterr()
    assert forge("import", "claude", str(EXPORTS / "claude_conversations.json"), "--embed", "now") == 0
    assert "2 unchanged" in capsys.readouterr().out


@pytest.mark.slow
def test_default_import_returns_before_embedding_and_a_background_catch_up_finishes_it(forge, db, tmp_path, capsys):
    """The import returns once stored and classified (no embedding model in this process); a
    detached `forge catch-up` writes the vectors, logging to a 0600 file."""
    import time

    from forge_tui.commands.background_work import catch_up_running
    from forge_tui.config import resolve_paths

    assert forge("import", "claude", str(EXPORTS / "claude_conversations.json")) == 0
    err = capsys.readouterr().err
    assert "continues in the background" in err and "forge embeddings status" in err
    assert db.messages.count_documents({"labels.0": {"$exists": True}}) >= 1
    paths = resolve_paths(str(tmp_path / "data"))
    deadline = time.monotonic() + 240
    while db["embeddings"].count_documents({}) < 6 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert db["embeddings"].count_documents({}) == 6
    while catch_up_running(paths) and time.monotonic() < deadline:
        time.sleep(0.2)
    log = paths.log_dir / "catch-up.log"
    assert (log.stat().st_mode & 0o777) == 0o600
    assert "embedded 6 message(s); 0 left without a vector" in log.read_text()
    assert forge("embeddings", "status") == 0
    assert "lack a" not in capsys.readouterr().out


def test_a_big_import_leaves_classification_to_a_background_catch_up(forge, db, tmp_path, capsys, monkeypatch):
    """Beyond FOREGROUND_TURNS the import queues the conversations and returns; a detached
    `forge catch-up --no-embed` classifies them and removes the note (no embedding model)."""
    import time

    from forge_tui.commands import import_cmd
    from forge_tui.commands.background_work import catch_up_running, queued_extractions
    from forge_tui.config import resolve_paths

    monkeypatch.setattr(import_cmd, "FOREGROUND_TURNS", 2)
    assert forge("import", "claude", str(EXPORTS / "claude_conversations.json"), "--embed", "later") == 0
    err = capsys.readouterr().err
    assert "Classifying the imported turns continues in the background" in err
    assert "embedding" not in err.split("continues")[0]
    paths = resolve_paths(str(tmp_path / "data"))
    deadline = time.monotonic() + 120
    while (queued_extractions(paths) or catch_up_running(paths)) and time.monotonic() < deadline:
        time.sleep(0.3)
    assert not queued_extractions(paths)
    assert db.messages.count_documents({"extracted_at": None}) == 0
    assert db.messages.count_documents({"labels.0": {"$exists": True}}) >= 1
    assert db["embeddings"].count_documents({}) == 0
    assert "classified 6 imported turn(s) of 2 conversation(s)" in (paths.log_dir / "catch-up.log").read_text()
