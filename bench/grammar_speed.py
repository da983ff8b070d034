"""Grammar-constrained decode speed: Forge's fast path vs llama-cpp-python's stock path.

For SmolLM2 135M and Gemma 3 270M, in one run and with the same prompt, sampling
settings and token budget, measures tokens/s of:

* ``free``  — Forge ``Decoder`` without a grammar,
* ``fast``  — Forge ``Decoder`` with the YAML-archive grammar below (sample, check one token,
  full-vocabulary grammar pass only on rejection),
* ``stock`` — ``Llama.generate(..., grammar=LlamaGrammar)`` (grammar applied to the whole
  vocabulary every token),

and prints fast/free and stock/free, by wall time and by process CPU time (the latter is
robust to other load on a shared machine; with ``--threads 1`` it is the work done). Each measurement is the wall time of the whole call
with the prompt already in the KV cache (both paths re-evaluate its last token), so prompt
processing does not count. Runs are interleaved and the median of ``--repeats`` is kept.

    python bench/grammar_speed.py [--tokens 128] [--repeats 3] [--threads 2] [--models smollm2,gemma]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
# llama.cpp's OpenMP workers spin while waiting; on a busy machine a descheduled spinner makes
# every graph barrier wait (measured 10x slower with 2 threads). Must be set before the import.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import llama_cpp  # noqa: E402

from forge_tui.config import resolve_paths  # noqa: E402
from forge_tui.engine.chat_template import make_formatter  # noqa: E402
from forge_tui.engine.decoder import Decoder  # noqa: E402
from forge_tui.engine.model_files import gemma_path, smollm2_path  # noqa: E402

# A compression-archive-like YAML document. The lists need at least four items each, so the
# grammar cannot complete (and allow end-of-generation) within a 128-token budget.
ARCHIVE_GBNF = r"""
root      ::= "summary: " qstr "\n" "decisions:\n" decision{4,12} "threads:\n" thread{4,12}
decision  ::= "  - id: D" digits "\n" "    text: " qstr "\n" "    status: " status "\n"
thread    ::= "  - id: T" digits "\n" "    title: " qstr "\n" "    open: " bool "\n"
status    ::= "accepted" | "proposed" | "superseded" | "rejected"
bool      ::= "true" | "false"
digits    ::= [0-9] [0-9] [0-9]
qstr      ::= "\"" char{1,160} "\""
char      ::= [^"\\\n] | "\\" ["\\n]
"""

ARCHIVE_PROMPT = (
    "Summarise this engineering conversation as a YAML archive with a one-line summary, "
    "a list of decisions (id D001..., text, status) and a list of open threads "
    "(id T001..., title, open). Conversation: we chose MongoDB over SQLite for turn "
    "storage, rejected a vector database in favour of in-process indexes, kept llama.cpp "
    "in-process, debated whether the UI should stream tokens or sentences, postponed "
    "LoRA support, and left open how to import ChatGPT exports and how to compress long "
    "histories without losing decisions.\n\nUse exactly this format:\n"
    'summary: "..."\ndecisions:\n  - id: D001\n    text: "..."\n    status: accepted\n'
    'threads:\n  - id: T001\n    title: "..."\n    open: true\n'
)


def chat_prompt(llm: llama_cpp.Llama, user_text: str) -> list[int]:
    """Tokens of a one-turn chat rendered with the GGUF's own chat template."""
    text, _stops = make_formatter(llm, None)([{"role": "user", "content": user_text}])
    return llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)


def load(name: str, threads: int, n_ctx: int = 1024) -> llama_cpp.Llama:
    path = smollm2_path() if name == "smollm2" else gemma_path(resolve_paths().cache_dir)
    return llama_cpp.Llama(str(path), n_ctx=n_ctx, n_threads=threads, n_threads_batch=threads, verbose=False)


SAMPLING = dict(temperature=0.7, top_k=40, top_p=0.95, min_p=0.05)


def run_forge(decoder: Decoder, prompt: list[int], tokens: int, seed: int, grammar: str | None):
    t0, c0 = time.perf_counter(), time.process_time()
    # unconstrained runs ban end-of-generation, so every run makes the same number of tokens
    # (the grammar below cannot complete within the budget, so it never allows the end either)
    for _ in decoder.stream(
        prompt, max_tokens=tokens, seed=seed, grammar=grammar, ignore_eog=grammar is None, **SAMPLING
    ):
        pass
    return decoder.last.tokens, time.perf_counter() - t0, time.process_time() - c0


def run_stock(llm: llama_cpp.Llama, prompt: list[int], tokens: int, seed: int, grammar: str):
    llm.set_seed(seed)
    t0, c0 = time.perf_counter(), time.process_time()
    grammar_obj = llama_cpp.LlamaGrammar.from_string(grammar, verbose=False)
    n = 0
    for token in llm.generate(
        prompt, top_k=40, top_p=0.95, min_p=0.05, temp=0.7, repeat_penalty=1.0, grammar=grammar_obj
    ):
        if llama_cpp.llama_vocab_is_eog(llama_cpp.llama_model_get_vocab(llm.model), token):
            break
        n += 1
        if n >= tokens:
            break
    return n, time.perf_counter() - t0, time.process_time() - c0


def bench_model(name: str, tokens: int, repeats: int, threads: int) -> dict[str, float]:
    llm = load(name, threads)
    decoder = Decoder(llm)
    prompt = chat_prompt(llm, ARCHIVE_PROMPT)
    run_forge(decoder, prompt, 4, 0, None)  # warm-up; puts the prompt in the KV cache
    wall: dict[str, list[float]] = {"free": [], "fast": [], "stock": []}
    cpu: dict[str, list[float]] = {"free": [], "fast": [], "stock": []}
    counts: dict[str, list[int]] = {"free": [], "fast": [], "stock": []}
    rejections: list[tuple[int, int]] = []
    for r in range(repeats):
        for kind in ("free", "fast", "stock"):
            if kind == "stock":
                n, secs, cpu_s = run_stock(llm, prompt, tokens, 1000 + r, ARCHIVE_GBNF)
            else:
                grammar = ARCHIVE_GBNF if kind == "fast" else None
                n, secs, cpu_s = run_forge(decoder, prompt, tokens, 1000 + r, grammar)
                if kind == "fast":
                    rejections.append((decoder.last.grammar_rejections, decoder.last.grammar_full_passes))
            wall[kind].append(n / secs)
            cpu[kind].append(n / cpu_s)
            counts[kind].append(n)
    w = {kind: statistics.median(v) for kind, v in wall.items()}
    c = {kind: statistics.median(v) for kind, v in cpu.items()}
    print(
        f"{name:8s} n_vocab={llm.n_vocab():6d}  wall t/s: free {w['free']:6.1f}  fast {w['fast']:6.1f}  "
        f"stock {w['stock']:6.1f}  |  fast/free {w['fast'] / w['free']:.2f}x  stock/free {w['stock'] / w['free']:.2f}x"
    )
    print(
        f"{'':8s} per CPU-second:  free {c['free']:6.1f}  fast {c['fast']:6.1f}  stock {c['stock']:6.1f}  |  "
        f"fast/free {c['fast'] / c['free']:.2f}x  stock/free {c['stock'] / c['free']:.2f}x  (robust to machine load)"
    )
    print(
        f"{'':8s} tokens per run free={counts['free']} fast={counts['fast']} stock={counts['stock']}  "
        f"fast runs (rejections, full-vocab passes)={rejections}"
    )
    decoder.close()
    llm.close()
    return {"wall_fast_ratio": w["fast"] / w["free"], "cpu_fast_ratio": c["fast"] / c["free"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--models", default="smollm2,gemma")
    args = parser.parse_args()
    print(f"grammar_speed: {args.tokens} tokens, {args.repeats} interleaved repeats, {args.threads} threads")
    for name in args.models.split(","):
        bench_model(name.strip(), args.tokens, args.repeats, args.threads)


if __name__ == "__main__":
    main()
