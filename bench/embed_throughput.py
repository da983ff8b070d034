"""Embedding throughput: messages/s for the raw MiniLM encoder and for the full
pipeline (find pending turns in SecantusDB, embed, write BSON float32 vectors).

    python bench/embed_throughput.py [--messages 1000]

Text: LoCoMo conversation turns (shared/data/locomo10.json, benchmark use only);
falls back to generated sentences when the file is absent. Starts its own
SecantusDB server process in a temporary directory.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

LOCOMO = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "locomo10.json"


def locomo_texts(limit: int) -> list[str]:
    if LOCOMO.exists():
        data = json.loads(LOCOMO.read_text(encoding="utf-8"))
        texts = [t["text"] for conv in data for key, session in conv["conversation"].items()
                 if key.startswith("session_") and isinstance(session, list) for t in session if t.get("text")]
        if len(texts) >= limit:
            return texts[:limit]
    rnd = random.Random(0)
    words = "garden server invoice compost model thesis query index vector tunnel disk budget".split()
    return [" ".join(rnd.choice(words) for _ in range(rnd.randint(8, 40))) for _ in range(limit)]


def start_store(tmp: str, db_name: str = "bench"):
    """SecantusDB as a separate process, as Forge runs it (an in-process server would share our GIL)."""
    from forge_tui.store.repository import Store
    from forge_tui.store.server import EmbeddedServer

    base = Path(tmp)
    server = EmbeddedServer(base / "mongo", base / "server.json", base / "logs")
    store = Store.connect(server.ensure_running(), db_name)
    store.ensure_schema()
    return server, store


def write_messages(store, texts: list[str], per_conversation: int = 40) -> list[str]:
    """Write ``texts`` as alternating user/assistant turns through ``Store``; return the message ids."""
    from forge_tui.domain.ids import conversation_id, message_id
    from forge_tui.domain.models import Conversation, Role, Turn

    start = datetime(2025, 1, 1, tzinfo=timezone.utc)
    ids: list[str] = []
    for c in range(0, len(texts), per_conversation):
        ts = start + timedelta(hours=c)
        project = f"project-{(c // per_conversation) % 5}"
        cid = conversation_id(project, f"bench-{c}", ts)
        conv = Conversation(id=cid, project=project, title=f"bench conversation {c}", created_at=ts, updated_at=ts)
        turns = []
        for seq, text in enumerate(texts[c:c + per_conversation]):
            at = ts + timedelta(seconds=seq)
            turns.append(Turn(id=message_id(cid, str(seq), at), conversation_id=cid, seq=seq,
                              role=Role.USER if seq % 2 == 0 else Role.ASSISTANT, content=text,
                              created_at=at, updated_at=at))
        store.write_conversation_whole(conv, turns)
        ids.extend(t.id for t in turns)
    return ids


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    args = parser.parse_args()

    from forge_tui.config import EmbeddingSpec
    from forge_tui.search.embedder import Embedder, embed_threads
    from forge_tui.search.pipeline import EmbeddingPipeline

    texts = locomo_texts(args.messages)
    t0 = time.perf_counter()
    embedder = Embedder(EmbeddingSpec()).start_loading()
    returned = time.perf_counter() - t0
    if not embedder.wait(600):
        print(f"embedder failed: {embedder.error}")
        return 1
    load_s = time.perf_counter() - t0
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (shared machine)")
    print(f"model: {embedder.name} ({embedder.dim}-d), torch threads {embed_threads()}, "
          f"start_loading returned in {returned * 1000:.1f} ms, ready after {load_s:.1f} s")
    print(f"texts: {len(texts)} ({'LoCoMo turns' if LOCOMO.exists() else 'generated'}), "
          f"mean {statistics.mean(len(t) for t in texts):.0f} chars")

    embedder.embed(texts[:32])  # warm-up
    t, c = time.perf_counter(), time.process_time()
    embedder.embed(texts)
    raw, cpu = time.perf_counter() - t, time.process_time() - c
    print(f"raw encode (batch {embedder.batch_size}): {len(texts) / raw:.0f} messages/s wall "
          f"({raw:.1f} s; {len(texts) / cpu:.0f} messages per CPU-second)")

    with tempfile.TemporaryDirectory() as tmp:
        server, store = start_store(tmp)
        try:
            ids = write_messages(store, texts)
            pipeline = EmbeddingPipeline(store, embedder)
            t, c = time.perf_counter(), time.process_time()
            done = pipeline.embed_pending()
            full, cpu = time.perf_counter() - t, time.process_time() - c
            print(f"pipeline embed_pending (scan + encode + write): {done / full:.0f} messages/s wall "
                  f"({done} in {full:.1f} s; {done / cpu:.0f} per CPU-second of this process)")
            t = time.perf_counter()
            assert pipeline.embed_pending() == 0
            print(f"embed_pending with nothing new: {(time.perf_counter() - t) * 1000:.1f} ms")
            # one turn at a time, as a chat writes them
            lat = []
            for mid in ids[:50]:
                store.db.messages.update_one({"_id": mid}, {"$set": {"content": "edited " + mid,
                                                                  "updated_at": datetime.now(timezone.utc)}})
                t = time.perf_counter()
                pipeline.on_turn_persisted(mid)
                lat.append(time.perf_counter() - t)
            lat.sort()
            print(f"on_turn_persisted (one turn): p50 {lat[len(lat) // 2] * 1000:.1f} ms, "
                  f"p95 {lat[int(len(lat) * 0.95) - 1] * 1000:.1f} ms")
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
