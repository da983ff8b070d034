"""Import throughput (messages/s) for a synthetic Claude export of 225 conversations /
3,777 messages (the seed's corpus size), without and with embedding; the peak
memory of parsing a ~50 MB export; and the large case: a 10,000-conversation /
50,000-message export (~49 MB) imported through the embedded, authenticated
server as Forge runs it, in a child process whose peak RSS is reported.

    python bench/import_throughput.py [--conversations 225 --messages 3777] [--no-embed] [--no-memory]
    python bench/import_throughput.py --large [--large-conversations 10000 --large-messages 50000]

Starts its own SecantusDB server (port 0, temp dir); nothing is timed in tests.
Embedding goes through Forge's search layer (``forge_tui.search``: Embedder +
EmbeddingPipeline's vector store) with the packaged MiniLM model; each imported
conversation is embedded in one batch from the ``on_written`` hook.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

WORDS = ("the ledger service stores invoices accounts payments we decided to use postgres because transactions "
         "matter retry queue worker batch nightly export csv schema migration index query latency cache token "
         "budget archive decision thread rationale python function class test fixture deploy rollback").split()
CODE = "```python\ndef {name}(items):\n    total = 0\n    for item in items:\n        total += item.amount\n    return total\n```"


def _sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def _message(rng: random.Random, i: int, sender: str, at: datetime) -> dict:
    text = " ".join(_sentence(rng, rng.randint(8, 20)) for _ in range(rng.randint(1, 6)))
    content = [{"type": "text", "text": text}]
    if sender == "assistant" and rng.random() < 0.3:
        content.append({"type": "text", "text": CODE.format(name=f"fn_{i}")})
    if sender == "assistant" and rng.random() < 0.15:
        content.append({"type": "tool_use", "name": "search", "input": {"query": _sentence(rng, 4)}})
        content.append({"type": "tool_result", "name": "search", "content": [{"type": "text", "text": text[:200]}]})
    return {"uuid": str(uuid.UUID(int=rng.getrandbits(128))), "sender": sender, "text": text, "content": content,
            "created_at": at.isoformat().replace("+00:00", "Z"), "attachments": [], "files": []}


def synthetic_claude_export(conversations: int, messages: int, seed: int = 7) -> list[dict]:
    rng = random.Random(seed)
    base, extra = divmod(messages, conversations)
    start = datetime(2025, 1, 1, tzinfo=timezone.utc)
    out = []
    for c in range(conversations):
        n = base + (1 if c < extra else 0)
        t = start + timedelta(hours=7 * c)
        msgs = [_message(rng, c * 1000 + i, "human" if i % 2 == 0 else "assistant", t + timedelta(seconds=40 * i))
                for i in range(n)]
        out.append({"uuid": str(uuid.UUID(int=rng.getrandbits(128))), "name": _sentence(rng, 4)[:-1],
                    "created_at": msgs[0]["created_at"], "updated_at": msgs[-1]["created_at"], "chat_messages": msgs})
    return out


def embedding_hook(store):
    """``on_written`` that embeds a conversation's turns in one batch (Forge's embedder + vector store)."""
    from forge_tui.config import EmbeddingSpec
    from forge_tui.search.embedder import Embedder
    from forge_tui.search.passages import fingerprint, passage
    from forge_tui.store.vectors import vector_doc
    from forge_tui.store.codec import turn_to_doc

    embedder = Embedder(EmbeddingSpec())
    if not embedder.wait(300):
        raise SystemExit(f"embedder failed to load: {embedder.error}")
    vectors = store.vectors

    def on_written(conv, turns):
        docs = [turn_to_doc(t, conv.project) for t in turns]
        vecs = embedder.embed([passage(d) for d in docs])
        vectors.write([vector_doc(d, embedder.name, v, fingerprint(d)) for d, v in zip(docs, vecs)])

    return on_written, embedder


def run_import(uri: str, export: Path, on_written_factory=None) -> tuple[float, object, int]:
    from forge_tui.importers.claude import parse_claude
    from forge_tui.importers.service import import_conversations
    from forge_tui.store.repository import Store

    store = Store.connect(uri, "bench_" + uuid.uuid4().hex[:8])
    store.ensure_schema()
    hook = on_written_factory(store)[0] if on_written_factory else None
    t0 = time.perf_counter()
    summary = import_conversations(store, parse_claude(export), project="bench", on_written=hook)
    elapsed = time.perf_counter() - t0
    t1 = time.perf_counter()
    again = import_conversations(store, parse_claude(export), project="bench")
    rerun = time.perf_counter() - t1
    embedded = store.db["embeddings"].count_documents({})
    assert again.conversations == 0 and again.messages == 0 and again.updated == 0, again
    store.db.client.drop_database(store.db.name)
    store.db.client.close()
    return elapsed, summary, embedded, rerun


def _hwm_mib() -> float:
    """Peak resident memory of this process (VmHWM; unlike ru_maxrss it is not inherited over exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def memory_probe(path: Path) -> None:
    """Child process: parse an export fully and print peak RSS (MiB)."""
    from forge_tui.importers.claude import parse_claude

    before = _hwm_mib()
    n = sum(len(c.messages) for c in parse_claude(path) if hasattr(c, "messages"))
    print(json.dumps({"messages": n, "baseline_mib": round(before, 1), "peak_mib": round(_hwm_mib(), 1)}))


def import_probe(uri: str, path: Path) -> None:
    """Child process: import ``path`` (storing only, as ``forge import`` does before its
    extraction/embedding pass), then again (idempotent); print times and peak RSS."""
    from forge_tui.importers.claude import parse_claude
    from forge_tui.importers.service import import_conversations
    from forge_tui.store.repository import Store

    store = Store.connect(uri, "bench_large")
    store.ensure_schema()
    before = _hwm_mib()
    marks: list[float] = []  # time at every 1,000th conversation: does the cost grow as the store fills?

    def progress(n: int = 1, note: str = "") -> None:
        marks.append(time.perf_counter())

    t0 = time.perf_counter()
    summary = import_conversations(store, parse_claude(path), project="bench", progress=progress)
    elapsed = time.perf_counter() - t0
    per_k = [round(b - a, 2) for a, b in zip([t0] + marks[999::1000], marks[999::1000])]
    t1 = time.perf_counter()
    again = import_conversations(store, parse_claude(path), project="bench")
    rerun = time.perf_counter() - t1
    print(json.dumps({"conversations": summary.conversations, "messages": summary.messages, "seconds": elapsed,
                      "rerun_seconds": rerun, "rerun_new": again.conversations + again.updated, "per_1000": per_k,
                      "baseline_mib": round(before, 1), "peak_mib": round(_hwm_mib(), 1)}))


def large_case(conversations: int, messages: int) -> int:
    from forge_tui.store.server import EmbeddedServer

    with tempfile.TemporaryDirectory(prefix="forge-bench-large-") as tmp:
        export = Path(tmp) / "conversations.json"
        data = synthetic_claude_export(conversations, messages, seed=13)
        export.write_text(json.dumps(data), encoding="utf-8")
        del data
        mb = export.stat().st_size / 1e6
        print(f"large Claude export: {conversations:,} conversations, {messages:,} messages, {mb:.0f} MB")
        server = EmbeddedServer(Path(tmp) / "mongo", Path(tmp) / "server.json", Path(tmp) / "logs")
        try:
            uri = server.ensure_running()
            out = subprocess.run([sys.executable, __file__, "--import-probe", uri, str(export)],
                                 capture_output=True, text=True)
        finally:
            server.stop()
        if out.returncode != 0:
            print("import probe failed:", out.stderr[-2000:])
            return 1
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"import (store only):    {r['messages']:,} messages, {r['conversations']:,} conversations in "
              f"{r['seconds']:.1f}s = {r['messages'] / r['seconds']:,.0f} messages/s")
        print(f"seconds per 1,000 conversations, first to last: {r['per_1000']}")
        print(f"peak RSS of the import: {r['peak_mib']:.0f} MiB (baseline {r['baseline_mib']:.0f} MiB, "
              f"+{r['peak_mib'] - r['baseline_mib']:.0f} MiB for a {mb:.0f} MB export)")
        print(f"re-import (idempotent): {r['rerun_new']} new or updated, {r['rerun_seconds']:.1f}s")
    return 0


def large_cli_case(conversations: int, messages: int, watch_s: float) -> int:
    """`forge import claude` of the generated export as a user runs it (default options but
    `--embed later`): how long the command holds the terminal, then the rate of the detached
    catch-up that classifies the imported turns, watched for ``watch_s`` seconds (the whole
    pass over 50,000 turns takes far longer than a bench should) and projected."""
    from forge_tui.services import Services

    with tempfile.TemporaryDirectory(prefix="forge-bench-cli-") as tmp:
        export = Path(tmp) / "conversations.json"
        export.write_text(json.dumps(synthetic_claude_export(conversations, messages, seed=13)), encoding="utf-8")
        data = Path(tmp) / "data"
        forge = [sys.executable, "-m", "forge_tui", "--data-dir", str(data)]
        env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
        subprocess.run(forge + ["sessions"], capture_output=True, text=True, env=env, check=True)
        t0 = time.perf_counter()
        out = subprocess.run(forge + ["import", "claude", str(export), "--project", "bench", "--embed", "later"],
                             capture_output=True, text=True, env=env)
        command = time.perf_counter() - t0
        if out.returncode != 0:
            print("import failed:", out.stderr[-2000:])
            return 1
        print(f"`forge import claude` {conversations:,} conversations / {messages:,} messages (--embed later): "
              f"the command returned after {command:.1f}s")
        services = Services.from_args(data_dir=str(data))
        store = services.store()
        start_left = _unclassified(store)
        t1, left = time.perf_counter(), start_left
        while left and time.perf_counter() - t1 < watch_s:
            time.sleep(5)
            left = _unclassified(store)
        spent = time.perf_counter() - t1
        rate = (start_left - left) / spent if spent else 0.0
        projection = f"; all {start_left:,} in ~{start_left / rate / 60:.0f} min" if rate and left else ""
        print(f"background catch-up: {start_left - left:,} of {start_left:,} turns classified in {spent:.0f}s "
              f"= {rate:.1f} turns/s{projection}")
        for line in out.stderr.splitlines():
            if "(pid " in line:
                pid = int(line.split("(pid ")[1].split(";")[0])
                try:
                    os.kill(pid, 15)
                except ProcessLookupError:
                    pass
        services.close()
        subprocess.run(forge + ["server", "stop"], capture_output=True, env=env)
    return 0


def _unclassified(store) -> int:
    return store.db["messages"].count_documents({"extracted_at": None})


def one_megabyte_case() -> int:
    """`forge import transcript` of one 1 MB message with the default options, timed as the user
    sees it (a fresh data dir: the command starts the embedded server too), then how long the
    background catch-up takes to give it vectors."""
    with tempfile.TemporaryDirectory(prefix="forge-bench-1mb-") as tmp:
        lines = [f"decisions: step {i} of the migration" if i % 7 == 0 else f"line {i}: ok" for i in range(40_000)]
        text = "\n".join(lines)[:1_000_000]
        path = Path(tmp) / "big.json"
        path.write_text(json.dumps([{"role": "user", "content": "here is the log"},
                                    {"role": "assistant", "content": text}]), encoding="utf-8")
        data = Path(tmp) / "data"
        forge = [sys.executable, "-m", "forge_tui", "--data-dir", str(data)]
        env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
        # the server starts once, outside the timing (the first command of a fresh install pays it once)
        subprocess.run(forge + ["sessions"], capture_output=True, text=True, env=env, check=True)
        t0 = time.perf_counter()
        out = subprocess.run(forge + ["import", "transcript", str(path), "--project", "bench"],
                             capture_output=True, text=True, env=env)
        command = time.perf_counter() - t0
        if out.returncode != 0:
            print("import failed:", out.stderr[-2000:])
            return 1
        print(f"1 MB message, `forge import transcript` (default: store, extract, embed in background): {command:.1f}s")
        for _ in range(600):
            status = subprocess.run(forge + ["embeddings", "status"], capture_output=True, text=True, env=env)
            if "lack a" not in status.stdout:
                break
            time.sleep(1)
        print(f"vectors written by the background catch-up {time.perf_counter() - t0:.1f}s after the command started")
        subprocess.run(forge + ["server", "stop"], capture_output=True, env=env)
    return 0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--large", action="store_true", help="the 10k-conversation case only")
    ap.add_argument("--large-cli", action="store_true",
                    help="the large case through the real CLI: the command, then the background classification's rate")
    ap.add_argument("--watch", type=float, default=120, help="seconds to watch the background catch-up (--large-cli)")
    ap.add_argument("--one-mb", action="store_true", help="one 1 MB message through the real CLI, default options")
    ap.add_argument("--large-conversations", type=int, default=10_000)
    ap.add_argument("--large-messages", type=int, default=50_000)
    ap.add_argument("--import-probe", nargs=2, help=argparse.SUPPRESS)
    ap.add_argument("--conversations", type=int, default=225)
    ap.add_argument("--messages", type=int, default=3777)
    ap.add_argument("--no-embed", action="store_true")
    ap.add_argument("--no-memory", action="store_true")
    ap.add_argument("--memory-probe", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.memory_probe:
        memory_probe(Path(args.memory_probe))
        return 0
    if args.import_probe:
        import_probe(args.import_probe[0], Path(args.import_probe[1]))
        return 0
    if args.large_cli:
        return large_cli_case(args.large_conversations, args.large_messages, args.watch)
    if args.one_mb:
        return one_megabyte_case()
    if args.large:
        return large_case(args.large_conversations, args.large_messages)

    from secantus import SecantusDBServer

    with tempfile.TemporaryDirectory(prefix="forge-bench-") as tmp:
        export = Path(tmp) / "conversations.json"
        data = synthetic_claude_export(args.conversations, args.messages)
        export.write_text(json.dumps(data), encoding="utf-8")
        size_mb = export.stat().st_size / 1e6
        print(f"synthetic Claude export: {args.conversations} conversations, {args.messages} messages, {size_mb:.1f} MB")
        server = SecantusDBServer(host="127.0.0.1", port=0, storage_path=str(Path(tmp) / "db"))
        server.start()
        try:
            host, port = server.address
            uri = f"mongodb://{host}:{port}/?directConnection=true"
            elapsed, summary, _, rerun = run_import(uri, export)
            print(f"import, no embedding:   {summary.messages} messages in {elapsed:.2f}s "
                  f"= {summary.messages / elapsed:,.0f} messages/s ({summary.conversations} conversations)")
            print(f"re-import (idempotent): 0 new, 0 updated in {rerun:.2f}s = {args.messages / rerun:,.0f} messages/s checked")
            if not args.no_embed:
                elapsed_e, summary_e, embedded, _ = run_import(uri, export, embedding_hook)
                print(f"import + embedding:     {summary_e.messages} messages in {elapsed_e:.2f}s "
                      f"= {summary_e.messages / elapsed_e:,.0f} messages/s ({embedded} vectors, MiniLM on CPU, "
                      f"model load excluded)")
                print(f"embedding cost ratio:   {elapsed_e / elapsed:.1f}x the plain import")
        finally:
            server.stop()
        if not args.no_memory:
            big = Path(tmp) / "big" / "conversations.json"
            big.parent.mkdir()
            scale = max(1, round(50e6 / export.stat().st_size))
            big_data = synthetic_claude_export(args.conversations * scale, args.messages * scale, seed=11)
            big.write_text(json.dumps(big_data), encoding="utf-8")
            del big_data, data
            mb = big.stat().st_size / 1e6
            out = subprocess.run([sys.executable, __file__, "--memory-probe", str(big)], capture_output=True, text=True)
            if out.returncode != 0:
                print("memory probe failed:", out.stderr[-2000:])
                return 1
            probe = json.loads(out.stdout.strip().splitlines()[-1])
            grown = probe["peak_mib"] - probe["baseline_mib"]
            print(f"parse a {mb:.0f} MB export: {probe['messages']} messages, peak RSS +{grown:.0f} MiB "
                  f"over a {probe['baseline_mib']:.0f} MiB baseline = {grown / mb:.1f}x the file size")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
