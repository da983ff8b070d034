"""The session and its database: what writing before showing costs, and what a dead server costs.

    .venv/bin/python bench/session_store.py [--rounds 3] [--tokens 256] [--kills 3]

1. **Decode cost of "nothing on screen is unsaved"**: SmolLM2 (llama.cpp, 1 thread) generates
   the same greedy reply, alternating, (a) with a no-op piece callback and (b) through
   ``ReplyStream``, which writes the text to the embedded SecantusDB server every
   ``FLUSH_S`` (journal fsynced per commit) and announces only what has landed. Ratios measured
   in one run (goal: ≥ 0.95): of the median tokens/s, the median of per-round back-to-back pairs
   (which goes first alternates), and of CPU seconds per token in this process (the decode thread
   plus the writer and pymongo; the server is another process), which the machine's load cannot skew.
2. **A dead embedded server**: a session on the real embedded server streams a scripted reply;
   the server is SIGKILLed; we time how long until the session notices (``store_status ==
   "lost"``), until it is back (restarted on the same port), and that the reply landed whole.
3. **Quit with the server dead**: ``controller.shutdown()`` + ``services.close()`` right after
   a SIGKILL of the server, mid-reply (goal: < 1 s).
"""

from __future__ import annotations

import argparse
import os
import queue
import signal
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from forge_tui.config import REPO_ROOT, Settings, load_models, resolve_paths  # noqa: E402
from forge_tui.domain.models import Role, Turn, TurnStatus  # noqa: E402
from forge_tui.engine.base import GenerationRequest  # noqa: E402
from forge_tui.engine.llama_engine import LlamaEngine  # noqa: E402
from forge_tui.services import Services  # noqa: E402
from forge_tui.session import events as ev  # noqa: E402
from forge_tui.session.controller import SessionController  # noqa: E402
from forge_tui.session.reply import ReplyStream  # noqa: E402
from forge_tui.session.writer import StoreWriter  # noqa: E402
from forge_tui.store.server import EmbeddedServer  # noqa: E402
from ui.fakes import FakeEngine  # noqa: E402

PROMPT = [{"role": "user", "content": "Write a long, detailed story about a lighthouse keeper and the sea."}]


def decode_cost(services: Services, rounds: int, tokens: int) -> None:
    models = load_models(REPO_ROOT / "models.toml")
    spec = replace(models.get("smollm2"), n_ctx=1024, n_threads=1)
    engine = LlamaEngine(spec, cache_dir=services.paths.cache_dir)
    engine.wait_ready(120)
    store = services.store()
    writer = StoreWriter(lambda ok, problem: None)
    request = GenerationRequest(messages=PROMPT, max_tokens=tokens, temperature=0.0)
    labels = ("no writes", "write then show")
    rates: dict[str, list[float]] = {label: [] for label in labels}
    cpu_per_token: dict[str, list[float]] = {label: [] for label in labels}
    paired: list[float] = []  # per round: write-then-show t/s ÷ no-writes t/s, run back to back
    for r in range(rounds + 1):  # the first round warms up and is not counted
        got: dict[str, float] = {}
        for label in labels if r % 2 else labels[::-1]:  # alternate which goes first
            cpu0 = time.process_time()
            if label == "no writes":
                result = engine.generate(request, lambda piece: None, threading.Event())
            else:
                turn = Turn(id=f"bench-{r}", conversation_id="bench", seq=r, role=Role.ASSISTANT, content="",
                            status=TurnStatus.STREAMING)
                store.insert_turn(turn, "bench")
                shown: list[str] = []
                stream = ReplyStream(writer, store, turn,
                                     lambda e: shown.append(e.text) if isinstance(e, ev.ReplyChunk) else None)
                result = engine.generate(request, stream.add, threading.Event())
                writer.drain(5)
                assert store.get_turn(turn.id).content.startswith("".join(shown))
            cpu_s = time.process_time() - cpu0  # this process: llama.cpp's thread, the writer, pymongo
            got[label] = result.tokens / result.elapsed_s
            if r:
                rates[label].append(got[label])
                cpu_per_token[label].append(cpu_s / max(result.tokens, 1))
        if r:
            paired.append(got["write then show"] / got["no writes"])
    engine.close()
    writer.stop()
    base, flushed = statistics.median(rates["no writes"]), statistics.median(rates["write then show"])
    cpu_base, cpu_flushed = (statistics.median(cpu_per_token[label]) for label in labels)
    print(f"decode: no writes {base:.1f} t/s, write-then-show {flushed:.1f} t/s -> ratio of medians "
          f"{flushed / base:.3f} ({rounds} rounds x {tokens} tokens, SmolLM2, 1 thread)")
    print(f"decode: paired per-round ratio median {statistics.median(paired):.3f} "
          f"(min {min(paired):.3f}, max {max(paired):.3f})")
    print(f"decode: CPU per token {cpu_base * 1000:.2f} ms vs {cpu_flushed * 1000:.2f} ms -> "
          f"CPU-bound speed ratio {cpu_base / cpu_flushed:.3f} (what a free core would see; load cannot skew it)")


def dead_server(data_dir: str, kills: int) -> None:
    noticed, back, quits = [], [], []
    for k in range(kills):
        services = Services(paths=resolve_paths(os.path.join(data_dir, f"d{k}")))
        events: queue.Queue = queue.Queue()
        controller = SessionController(
            store_link=services.store_link(), models=load_models(REPO_ROOT / "models.toml"),
            engine_factory=lambda n: FakeEngine(model_name=n, reply="word " * 400, delay_s=0.01),
            settings=Settings(), emit=events.put)
        controller.start().result(90)
        server = EmbeddedServer(services.paths.mongo_dir, services.paths.server_state, services.paths.log_dir)

        def wait(match, timeout=60.0):
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                try:
                    e = events.get(timeout=0.01)
                except queue.Empty:
                    continue
                if match(e):
                    return e
            raise RuntimeError("event not seen")

        wait(lambda e: isinstance(e, ev.StateChanged) and e.state.model_status == "ready")
        controller.send("story")
        wait(lambda e: isinstance(e, ev.ReplyChunk))
        os.kill(server.server_pid(), signal.SIGKILL)
        t0 = time.monotonic()
        wait(lambda e: isinstance(e, ev.StateChanged) and e.state.store_status == "lost")
        noticed.append(time.monotonic() - t0)
        wait(lambda e: isinstance(e, ev.Notice) and e.message.startswith("Database back"))
        back.append(time.monotonic() - t0)
        done = wait(lambda e: isinstance(e, ev.ReplyFinished))
        assert services.store().get_turn(done.turn.id).content == "word " * 400
        # now quit while the server is dead, mid-reply
        controller.send("again")
        wait(lambda e: isinstance(e, ev.ReplyChunk))
        os.kill(server.server_pid(), signal.SIGKILL)
        time.sleep(0.1)
        t1 = time.perf_counter()
        controller.shutdown()
        services.close()
        quits.append(time.perf_counter() - t1)
        time.sleep(2)  # let the monitor's restart (if it started) finish before stopping the server
        server.stop()
    fmt = lambda xs: f"median {statistics.median(xs) * 1000:.0f} ms (max {max(xs) * 1000:.0f})"  # noqa: E731
    print(f"dead server: noticed {fmt(noticed)}; restarted and answering {fmt(back)}; reply complete in the store")
    print(f"quit with the server dead, mid-reply: {fmt(quits)}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=256)
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--decode-only", action="store_true", help="skip the dead-server part")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data:
        services = Services(paths=resolve_paths(os.path.join(data, "decode")))
        try:
            decode_cost(services, args.rounds, args.tokens)
        finally:
            services.close()
            EmbeddedServer(services.paths.mongo_dir, services.paths.server_state, services.paths.log_dir).stop()
        if not args.decode_only:
            dead_server(data, args.kills)


if __name__ == "__main__":
    main()
