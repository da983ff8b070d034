"""Several Forge processes on one data dir at once: two writing conversations turn by turn
(as two TUIs do) while two CLI imports of the same export run. They share one embedded,
authenticated server; nothing is lost, duplicated or half-written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from pymongo import MongoClient

from forge_tui.store.server import EmbeddedServer

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bench"))
from import_throughput import synthetic_claude_export  # noqa: E402 - the benchmark's generator

TURNS = 60

WRITER = """
import sys
from forge_tui.domain.ids import conversation_id, message_id
from forge_tui.domain.models import Conversation, Role, Turn, TurnStatus, utcnow
from forge_tui.services import Services

name, turns = sys.argv[1], int(sys.argv[2])
store = Services.from_args(sys.argv[3]).store()
now = utcnow()
conv = Conversation(id=conversation_id("live", name, now), project="live", title=name, created_at=now, updated_at=now)
store.create_conversation(conv)
for seq in range(turns):
    role = Role.USER if seq % 2 == 0 else Role.ASSISTANT
    at = utcnow()
    status = TurnStatus.COMPLETE if role is Role.USER else TurnStatus.STREAMING
    turn = Turn(id=message_id(conv.id, f"{seq}", at), conversation_id=conv.id, seq=seq, role=role,
                content="" if status is TurnStatus.STREAMING else f"question {seq}", status=status,
                created_at=at, updated_at=at)
    store.insert_turn(turn, "live")
    if status is TurnStatus.STREAMING:  # a reply streams, then closes (as the app writes it)
        store.update_turn(turn.id, content=f"partial {seq}")
        store.update_turn(turn.id, content=f"answer {seq}", status=TurnStatus.COMPLETE)
print(conv.id)
"""


def test_two_writers_and_two_imports_share_a_data_dir(tmp_path):
    data = tmp_path / "data"
    export = tmp_path / "conversations.json"
    export.write_text(json.dumps(synthetic_claude_export(400, 1200, seed=9)), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(REPO), "FORGE_DB": "forge"}
    env.pop("FORGE_MONGO_URI", None)
    forge = [sys.executable, "-m", "forge_tui", "--data-dir", str(data)]
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, f"tui-{i}", str(TURNS), str(data)], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for i in range(2)
    ] + [
        subprocess.Popen(forge + ["import", "claude", str(export), "--project", "imported", "--no-pipeline"],
                         env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    try:
        outputs = [p.communicate(timeout=240) for p in procs]
        for p, (out, err) in zip(procs, outputs):
            assert p.returncode == 0, err[-2000:]
        live_ids = [out.strip().splitlines()[-1] for out, _ in outputs[:2]]

        client = MongoClient(EmbeddedServer(data / "mongo", data / "server.json", data / "logs").running_uri())
        db = client["forge"]
        assert db.conversations.count_documents({"project": "imported"}) == 400
        assert db.messages.count_documents({"project": "imported"}) == 1200
        for conv in db.conversations.find({}, {"turn_count": 1}):
            seqs = [d["seq"] for d in db.messages.find({"conversation_id": conv["_id"]}, {"seq": 1}).sort("seq", 1)]
            assert seqs == list(range(conv["turn_count"])), conv["_id"]
        for cid in live_ids:
            turns = list(db.messages.find({"conversation_id": cid}).sort("seq", 1))
            assert [t["seq"] for t in turns] == list(range(TURNS))
            assert all(t["status"] == "complete" for t in turns)
            assert turns[-1]["content"] == f"answer {TURNS - 1}"
        client.close()
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
        EmbeddedServer(data / "mongo", data / "server.json", data / "logs").stop()
