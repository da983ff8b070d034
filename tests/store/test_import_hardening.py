"""Imports against a real store under hostile and heavy input: fuzzed exports written
without a crash, damaged zips and zip bombs refused, a killed import finished by a re-run
without duplicates, a 1 MB message imported (and searched for archives) in one go."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from forge_tui.importers.chatgpt import iter_chatgpt_conversations
from forge_tui.importers.claude import iter_claude_conversations, parse_claude
from forge_tui.importers.model import ImportInputError
from forge_tui.importers.service import import_conversations
from forge_tui.importers.transcript import parse_transcript

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO / "bench"), str(REPO / "tests" / "unit")]
import importer_strategies as S  # noqa: E402 - shared with the parser fuzz tests
from import_throughput import synthetic_claude_export  # noqa: E402 - the benchmark's generator


def _assert_consistent(store) -> None:
    """Every listed conversation has exactly its turn_count turns, seq 0..n-1, no duplicates."""
    for conv in store.db.conversations.find({}, {"turn_count": 1}):
        seqs = [d["seq"] for d in store.db.messages.find({"conversation_id": conv["_id"]}, {"seq": 1}).sort("seq", 1)]
        assert seqs == list(range(conv["turn_count"])), conv["_id"]


@settings(max_examples=40, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(claude=S.claude_export, chatgpt=S.chatgpt_export)
def test_fuzzed_exports_import_without_a_crash(store, claude, chatgpt):
    for stream in (iter_claude_conversations(list(claude)), iter_chatgpt_conversations(list(chatgpt))):
        summary = import_conversations(store, stream, project="fuzz")
        assert all(reason for _, reason in summary.skipped)
    _assert_consistent(store)


def _zip(path: Path, payload: bytes, name: str = "conversations.json") -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(name, payload)
    return path


def test_damaged_and_truncated_zips_are_a_clear_error(tmp_path):
    good = _zip(tmp_path / "good.zip", json.dumps(synthetic_claude_export(20, 60)).encode())
    data = good.read_bytes()
    flipped = bytearray(data)
    for i in range(80, 140):
        flipped[i] ^= 0xFF
    (tmp_path / "flipped.zip").write_bytes(bytes(flipped))
    (tmp_path / "truncated.zip").write_bytes(data[: len(data) // 2])
    for name in ("flipped.zip", "truncated.zip"):
        with pytest.raises(ImportInputError, match="damaged archive"):
            list(parse_claude(tmp_path / name))


def test_zip_bomb_is_refused_before_reading(tmp_path):
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        with zf.open("conversations.json", "w") as fh:
            fh.write(b"[")
            for _ in range(64):
                fh.write(b" " * (1 << 20))  # 64 MiB of spaces: ~64 kB compressed
            fh.write(b"]")
    started = time.monotonic()
    with pytest.raises(ImportInputError, match="zip bomb"):
        parse_claude(bomb)
    assert time.monotonic() - started < 5  # refused from the header, not after unpacking


def test_streaming_reads_an_export_without_loading_it_whole(tmp_path):
    path = tmp_path / "conversations.json"
    path.write_text(json.dumps(synthetic_claude_export(300, 900)), encoding="utf-8")
    export = parse_claude(path)  # checked end to end, nothing held
    assert sum(1 for item in export if hasattr(item, "messages")) == 300


def test_a_killed_import_is_finished_by_a_rerun_without_duplicates(store, mongo_uri, tmp_path):
    """SIGKILL a CLI import mid-way, import again: everything in, once."""
    export = tmp_path / "conversations.json"
    export.write_text(json.dumps(synthetic_claude_export(1500, 3000, seed=3)), encoding="utf-8")
    env = {**os.environ, "FORGE_DB": store.db.name, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "forge_tui", "--mongo-uri", mongo_uri, "--data-dir", str(tmp_path / "d"),
         "import", "claude", str(export), "--project", "p", "--no-pipeline"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while store.db.conversations.count_documents({}) < 250 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    written = store.db.conversations.count_documents({})
    assert written >= 250  # at least one batch made it before the kill
    _assert_consistent(store)

    summary = import_conversations(store, parse_claude(export), project="p")
    assert summary.unchanged + summary.conversations + summary.updated == 1500
    assert store.db.conversations.count_documents({}) == 1500
    assert store.db.messages.count_documents({}) == 3000
    _assert_consistent(store)
    again = import_conversations(store, parse_claude(export), project="p")
    assert (again.conversations, again.messages, again.updated, again.unchanged) == (0, 0, 0, 1500)


def test_leftover_turns_of_a_killed_batch_are_replaced(store, tmp_path):
    """Killed between a batch's turns and its conversation documents: the turns are there,
    the conversations are not listed; the re-run completes them (even if the source changed)."""
    export = tmp_path / "conversations.json"
    data = synthetic_claude_export(3, 9, seed=5)
    export.write_text(json.dumps(data), encoding="utf-8")
    import_conversations(store, parse_claude(export), project="p")
    store.db.conversations.delete_many({})  # as if killed before the conversation documents went in
    stray = store.db.messages.find_one({"seq": 1})
    store.db.messages.delete_one({"_id": stray["_id"]})
    store.db.messages.insert_one({**stray, "_id": "stale-turn-id"})  # same seq, another id
    summary = import_conversations(store, parse_claude(export), project="p")
    assert summary.conversations == 3 and not summary.skipped
    assert store.db.messages.count_documents({}) == 9 and store.db.messages.find_one({"_id": "stale-turn-id"}) is None
    _assert_consistent(store)


def test_one_megabyte_message(store, tmp_path):
    """A pasted 1 MB log with YAML-looking lines: imported, scanned for archives, in one go."""
    lines = [f"decisions: step {i} of the migration" if i % 7 == 0 else f"line {i}: ok" for i in range(40_000)]
    text = "\n".join(lines)[:1_000_000]
    path = tmp_path / "big.json"
    path.write_text(json.dumps([{"role": "user", "content": "here is the log"},
                                {"role": "assistant", "content": text}]), encoding="utf-8")
    summary = import_conversations(store, parse_transcript(path), project="p")
    assert summary.conversations == 1 and summary.messages == 2
    conv = store.list_conversations("p")[0]
    assert len(store.turns(conv.id)[1].content) == len(text)


_LEGACY_KEYS = ["conversation_id", "session_id", "role", "sender", "content", "text", "timestamp", "created_at",
                "seq", "title", "project", "decision", "rationale", "tier", "status", "priority", "src", "dst",
                "kind", "message_id", "id", "embedding"]


@settings(max_examples=8, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(docs=S.st.fixed_dictionaries({
    name: S.st.lists(S.st.dictionaries(S.st.sampled_from(_LEGACY_KEYS), S.any_json(_LEGACY_KEYS), max_size=6),
                     max_size=5)
    for name in ("conversations", "messages", "decisions", "threads", "lineage")
}))
def test_fuzzed_legacy_database_imports_without_a_crash(store, mongo_client, docs):
    """A Forge OS database with any values in its documents: imported, skipped or reported."""
    from forge_tui.importers.legacy_mongo import import_legacy_db
    from forge_tui.store.legacy_source import LegacySource
    from forge_tui.importers.model import json_safe

    legacy = mongo_client["legacy_fuzz_" + store.db.name[-8:]]
    try:
        for name, rows in docs.items():
            if rows:
                legacy[name].insert_many([json_safe(r) for r in rows])
        report = import_legacy_db(store, LegacySource(legacy), project=None)
        assert all(reason for _, reason in report.summary.skipped)
    finally:
        mongo_client.drop_database(legacy.name)
    _assert_consistent(store)
