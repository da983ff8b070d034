"""Decode speed and time to first token through the OpenAI engine (llama-cpp-python's
server on loopback) against the in-process llama engine, on the same GGUF, same
threads, same prompt, greedy. Runs alternate (server, in-process, ...) so load on
the machine hits both alike; the ratio is of the medians, measured in one run.

Decode t/s = (pieces - 1) / (time of last piece - time of first piece): the
steady-state rate a user sees, excluding prompt processing. TTFT = request to the
first piece (includes prompt processing and, for the server, HTTP + SSE).

    python bench/engine_decode_ratio.py [--model-path GGUF] [--threads 2] [--tokens 128] [--reps 3]

Goal: decode ratio (server ÷ in-process) >= 0.90.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from forge_tui.config import ModelSpec, parse_models  # noqa: E402
from forge_tui.engine.base import GenerationRequest  # noqa: E402

PROMPT = "List the numbers from 1 to 300, separated by commas, and nothing else."


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def timed(engine, tokens: int) -> tuple[float, float, int]:
    """(ttft_s, decode t/s, pieces) for one greedy generation."""
    stamps: list[float] = []
    request = GenerationRequest([{"role": "user", "content": PROMPT}], max_tokens=tokens, temperature=0.0)
    started = time.perf_counter()
    result = engine.generate(request, lambda _piece: stamps.append(time.perf_counter()), threading.Event())
    if len(stamps) < 2:
        return float("nan"), float("nan"), len(stamps)
    # a server chunk can carry more than one token; a reply cut at max_tokens has exactly that many
    produced = tokens if result.finish == "length" else result.tokens
    return stamps[0] - started, (produced - 1) / (stamps[-1] - stamps[0]), produced


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model-path", help="GGUF (default: the packaged SmolLM2)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--tokens", type=int, default=128)
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()

    from forge_tui.engine.llama_engine import LlamaEngine
    from forge_tui.engine.model_files import smollm2_path
    from forge_tui.engine.openai_engine import OpenAIEngine

    gguf = Path(args.model_path or smollm2_path())
    port = free_port()
    log = Path(tempfile.mkdtemp(prefix="forge-decode-")) / "server.log"
    server = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--model_alias", "bench", "--host",
         "127.0.0.1", "--port", str(port), "--n_threads", str(args.threads), "--n_threads_batch", str(args.threads),
         "--n_ctx", "2048"], stdout=log.open("wb"), stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=1).read()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    print(f"llama_cpp.server did not start; see {log}", file=sys.stderr)
                    return 1
                time.sleep(0.3)
        remote = OpenAIEngine(parse_models(
            f'[models.bench]\nkind = "openai"\nbase_url = "http://127.0.0.1:{port}/v1"\nmodel = "bench"\n'
            'n_ctx = 2048\n').get("bench"))
        local = LlamaEngine(ModelSpec(name="bench", path=str(gguf), n_ctx=2048, n_threads=args.threads),
                            cache_dir=log.parent)
        remote.wait_ready()
        local.wait_ready()
        timed(remote, 8), timed(local, 8)  # warm both (first-request costs)
        runs: dict[str, list[tuple[float, float, int]]] = {"server (OpenAI engine)": [], "in-process": []}
        for _ in range(args.reps):
            runs["server (OpenAI engine)"].append(timed(remote, args.tokens))
            runs["in-process"].append(timed(local, args.tokens))
        local.close()
        remote.close()
    finally:
        server.terminate()
        try:
            server.wait(5)
        except subprocess.TimeoutExpired:
            server.kill()

    print(f"{gguf.name}, threads={args.threads}, {args.tokens} tokens, {args.reps} reps (medians)")
    medians = {}
    for name, rows in runs.items():
        ttft = statistics.median(r[0] for r in rows)
        tps = statistics.median(r[1] for r in rows)
        pieces = statistics.median(r[2] for r in rows)
        medians[name] = (ttft, tps)
        print(f"  {name:<24} decode {tps:7.1f} t/s   TTFT {ttft * 1000:7.1f} ms   ({pieces:.0f} tokens)")
    server_tps, local_tps = medians["server (OpenAI engine)"][1], medians["in-process"][1]
    print(f"decode ratio server/in-process: {server_tps / local_tps:.3f} (goal >= 0.90)")
    print(f"TTFT server - in-process: {(medians['server (OpenAI engine)'][0] - medians['in-process'][0]) * 1000:+.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
