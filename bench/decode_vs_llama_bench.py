"""Forge's Decoder vs llama.cpp's own ``llama-bench`` (token generation), same model and threads.

``llama-bench -p 0 -n N -t T`` measures pure decoding (one token per ``llama_decode``, no
sampling, empty KV cache). Forge's number is generation tokens/s from ``Decoder.stream``
(sampling, detokenization and the Python loop included; prompt processing excluded), after a
4-token prompt, end-of-generation banned so every run makes exactly N tokens. Runs alternate between the two and medians are compared, so load from other
processes on a shared machine hits both alike. Goal: Forge / llama-bench >= 0.95.

    bash bench/build_llama_bench.sh            # once (a few minutes)
    python bench/decode_vs_llama_bench.py [--model smollm2|gemma] [--tokens 128] [--threads 2] [--rounds 3]
                                          [--flash-attn off|on]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
# llama.cpp's OpenMP workers spin while waiting; on a busy machine that makes every barrier wait
# on a descheduled thread. Set before llama_cpp is imported; llama-bench inherits it.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import llama_cpp  # noqa: E402

from forge_tui.config import resolve_paths  # noqa: E402
from forge_tui.engine.decoder import Decoder  # noqa: E402
from forge_tui.engine.model_files import gemma_path, smollm2_path  # noqa: E402

LLAMA_BENCH = HERE / ".llama-bench" / "bin" / "llama-bench"
PROMPT = "Once upon a time"  # short: llama-bench's tg starts from an empty KV cache


def model_path(name: str) -> Path:
    return smollm2_path() if name == "smollm2" else gemma_path(resolve_paths().cache_dir)


def llama_bench_tps(model: Path, tokens: int, threads: int, flash_attn: str) -> float:
    cmd = [str(LLAMA_BENCH), "-m", str(model), "-p", "0", "-n", str(tokens), "-t", str(threads)]
    cmd += ["-fa", flash_attn, "-r", "1", "-o", "json"]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"llama-bench failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    rows = json.loads(proc.stdout)
    return float(rows[0]["avg_ts"])


def forge_tps(decoder: Decoder, prompt: list[int], tokens: int, seed: int) -> float:
    """Generation tokens/s over exactly ``tokens`` tokens (end-of-generation banned, like tg)."""
    decoder.llm.reset()  # start from the same state every time
    for _ in decoder.stream(prompt, max_tokens=tokens, seed=seed, temperature=0.7, ignore_eog=True):
        pass
    assert decoder.last.tokens == tokens
    return decoder.last.tokens / decoder.last.gen_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=["smollm2", "gemma"], default="smollm2")
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--flash-attn", choices=["off", "on"], default="off",
        help="for both sides (llama-bench defaults to auto, llama-cpp-python to off; ~8%% apart here)",
    )
    args = parser.parse_args()
    if not LLAMA_BENCH.exists():
        raise SystemExit(f"{LLAMA_BENCH} is missing: run `bash bench/build_llama_bench.sh` first")

    path = model_path(args.model)
    llm = llama_cpp.Llama(  # llama-bench's context is p + n tokens; 256 is llama.cpp's minimum padding
        str(path), n_ctx=256, n_threads=args.threads, n_threads_batch=args.threads,
        flash_attn=args.flash_attn == "on", verbose=False,
    )
    decoder = Decoder(llm)
    prompt = llm.tokenize(PROMPT.encode(), add_bos=True)
    forge_tps(decoder, prompt, 8, 0)  # warm-up

    ref, ours = [], []
    for r in range(args.rounds):
        ref.append(llama_bench_tps(path, args.tokens, args.threads, args.flash_attn))
        ours.append(forge_tps(decoder, prompt, args.tokens, 100 * r))
        print(f"round {r + 1}: llama-bench {ref[-1]:7.1f} t/s   forge {ours[-1]:7.1f} t/s", flush=True)
    ref_m, ours_m = statistics.median(ref), statistics.median(ours)
    print(
        f"{args.model}: tg{args.tokens}, {args.threads} threads, flash-attn {args.flash_attn}, "
        f"OMP_WAIT_POLICY={os.environ['OMP_WAIT_POLICY']}: "
        f"llama-bench {ref_m:.1f} t/s, Forge Decoder {ours_m:.1f} t/s -> Forge/llama-bench {ours_m / ref_m:.3f}"
    )
    decoder.close()
    llm.close()


if __name__ == "__main__":
    main()
