"""Compression time: a working session of ~2,000 tokens, and one far larger than the context.

    python bench/compress_speed.py [--model smollm2|none] [--long-turns 3000] [--threads 2]

The short case is a memory-corpus conversation (rules-only archive time, then the model's
wording); the long case stitches corpus conversations into one session of ``--long-turns`` turns
(the corpus repeated as needed) and compresses it with a
model whose n_ctx is 4096: the extraction reads every turn, the model sees what fits.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CORPUS = ROOT / "tests" / "fixtures" / "memory_corpus"


def store_turns(store, title: str, turns: list[dict]) -> str:
    from forge_tui.domain.ids import conversation_id, message_id
    from forge_tui.domain.models import Conversation, Role, Turn, TurnStatus, utcnow

    start = utcnow()
    cid = conversation_id("bench", title, start)
    conv = Conversation(id=cid, project="bench", title=title, created_at=start, updated_at=start)
    rows = [Turn(id=message_id(cid, f"{i}", start + timedelta(seconds=i)), conversation_id=cid, seq=i,
                 role=Role(t["role"]), content=t["content"], status=TurnStatus.COMPLETE,
                 created_at=start + timedelta(seconds=i), updated_at=start + timedelta(seconds=i))
            for i, t in enumerate(turns)]
    store.write_conversation_whole(conv, rows)
    return cid


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="smollm2")
    ap.add_argument("--long-turns", type=int, default=3000)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    from pymongo import MongoClient
    from secantus import SecantusDBServer

    from forge_tui.compression import compress
    from forge_tui.store.repository import Store

    convs = [json.loads(p.read_text()) for p in sorted(CORPUS.glob("c*.json"))]
    engine = None
    if args.model != "none":
        from forge_tui.config import ModelSpec
        from forge_tui.engine.llama_engine import LlamaEngine

        engine = LlamaEngine(ModelSpec(name=args.model, path=f"package:llm_{args.model}", n_ctx=4096,
                                       n_threads=args.threads), Path(tempfile.mkdtemp()))
        engine.wait_ready()
    server = SecantusDBServer(host="127.0.0.1", port=0, storage_path=tempfile.mkdtemp())
    server.start()
    try:
        host, port = server.address
        store = Store(MongoClient(f"mongodb://{host}:{port}/?directConnection=true", tz_aware=True)["bench"])
        store.ensure_schema()
        short = min(convs, key=lambda c: abs(sum(len(t["content"]) for t in c["turns"]) - 8000))
        cid = store_turns(store, short["title"], short["turns"])
        t0 = time.perf_counter()
        rules = compress(store, None, cid)
        t_rules = time.perf_counter() - t0
        print(f"short session {short['id']}: {rules.tokens_source} tokens (approx.); rules-only archive "
              f"{t_rules:.2f} s")
        if engine is not None:
            t0 = time.perf_counter()
            full = compress(store, engine, cid)
            print(f"  with {args.model}: {time.perf_counter() - t0:.2f} s ({full.tokens_source} tokens, "
                  f"model note: {full.model_note or 'none'})")

        if args.long_turns <= 0:
            return 0
        turns: list[dict] = []
        while len(turns) < args.long_turns:
            for c in convs:
                turns += c["turns"]
        turns = turns[: args.long_turns - args.long_turns % 2]
        cid = store_turns(store, "long session", turns)
        t0 = time.perf_counter()
        result = compress(store, engine, cid)
        elapsed = time.perf_counter() - t0
        print(f"long session: {len(turns)} turns, {result.tokens_source} tokens -> {result.tokens_archive}-token "
              f"archive in {elapsed:.1f} s ({'rules only' if engine is None else args.model}, "
              f"model note: {result.model_note or 'none'})")
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
