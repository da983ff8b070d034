"""Archive quality on the labelled memory corpus: does an archive keep more than truncation?

For every conversation of a split (tests/fixtures/memory_corpus, split by conversation id), the
conversation is written to a fresh database on a real SecantusDB server and compressed through
``forge_tui.compression.compress``; the script then reports, per mode:

- key-fact recall: the share of ``expected.key_facts`` found (case-insensitive) in the archive's
  body (header excluded), beside the same measure for the **last N** and **first N** tokens of the
  conversation, N = the archive's own size in tokens;
- questions with the right OPEN/RESOLVED status (an expected question matches the archive
  thread whose title shares the most words with the question's text and title);
- stale values presented as current (a superseded value inside an active decision, a constraint
  or the continuation prompt, outside a sentence that marks it as replaced);
- archive size ÷ source size (median, and how many archives are larger than their source);
- seconds per archive, and the mean tokens each section of the archive takes.

    python bench/archive_quality.py [--split test|dev|train|all] [--mode default lossless]
                                    [--model smollm2|none] [--budget 1200] [--corpus DIR]

``--model none`` compresses without a model (the deterministic floor); tokens are then counted
with the default model's tokenizer (vocab only). Tune on train/dev; report test.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXED_TIME = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
sys.path.insert(0, str(ROOT))

from compression_fidelity import strings  # noqa: E402  (one flattening of an archive's text)

CORPUS = ROOT / "tests" / "fixtures" / "memory_corpus"
SECTIONS = ("header", "decisions", "threads", "artifacts", "constraints", "facts", "continuation_prompt", "turns")
REPLACED = re.compile(r"\b(instead|rather than|replac\w*|scrap\w*|drop\w*|no longer|switch\w* (?:from|away)|"
                      r"supersed\w*|was |previously|old|not )", re.I)


def load(split: str, folder: Path = CORPUS) -> list[dict]:
    """The corpus conversations of ``split`` (``all`` for every one) as plain dicts."""
    from forge_tui.knowledge.pipeline import corpus

    splits = None if split == "all" else (split,)
    return [{"id": c.id, "title": c.title, "turns": c.turns, "labels": c.labels, "expected": c.expected}
            for c in corpus.load(folder, splits) if c.id.startswith("c")]


def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", text.lower()))


def archive_body(archive: dict) -> str:
    return "\n".join(strings({k: v for k, v in archive.items() if k not in ("header", "schema")}))


def fact_recall(facts: list[str], text: str) -> float:
    low = text.lower()
    return sum(f.lower() in low for f in facts) / len(facts) if facts else 1.0


def question_status(conv: dict, archive: dict) -> tuple[int, int]:
    """(right, total) over the expected questions."""
    texts: dict[str, set[str]] = {}
    for lab in conv["labels"]:
        if lab["label"] == "question":
            texts.setdefault(lab["id"], set()).update(words(lab["text"]) | words(lab.get("title", "")))
    right = 0
    expected = conv["expected"].get("questions", {})
    threads = archive.get("threads", [])
    for qid, want in expected.items():
        evidence = texts.get(qid, set())
        best, best_score = None, 0.0
        for t in threads:
            tw = words(t["title"])
            score = len(tw & evidence) / max(1, min(len(tw), len(evidence)))
            if score > best_score:
                best, best_score = t, score
        if best is not None and best_score >= 0.5 and best["status"] == want["status"]:
            right += 1
    return right, len(expected)


def stale_current(conv: dict, archive: dict) -> int:
    live = [d["text"] for d in archive.get("decisions", []) if d.get("status") == "active"]
    live += [c["quote"] for c in archive.get("constraints", [])]
    live += re.split(r"(?<=[.;])\s+", archive.get("continuation_prompt", ""))
    count = 0
    for value in conv["expected"].get("stale_values", []):
        v = value.lower()
        if any(v in s.lower() and not REPLACED.search(s) for s in live):
            count += 1
    return count


def truncation_recall(conv: dict, count_tokens, n_tokens: int) -> tuple[float, float]:
    text = "\n\n".join(f"{t['role']}: {t['content']}" for t in conv["turns"])
    lo, hi = 0, len(text)
    # the longest suffix/prefix with at most n_tokens tokens (binary search on characters)
    def fit(take) -> str:
        lo, hi = 0, len(text)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if count_tokens(take(mid)) <= n_tokens:
                lo = mid
            else:
                hi = mid - 1
        return take(lo)
    facts = conv["expected"].get("key_facts", [])
    return (fact_recall(facts, fit(lambda k: text[len(text) - k:])), fact_recall(facts, fit(lambda k: text[:k])))


def write(store, conv: dict, start: datetime):
    from forge_tui.domain.ids import conversation_id, message_id
    from forge_tui.domain.models import Conversation, Role, Turn, TurnStatus

    cid = conversation_id("bench", conv["id"], start)
    c = Conversation(id=cid, project="bench", title=conv["title"], created_at=start, updated_at=start)
    turns = []
    for i, t in enumerate(conv["turns"]):
        ts = start + timedelta(seconds=i)
        turns.append(Turn(id=message_id(cid, f"{i}:{t['role']}", ts), conversation_id=cid, seq=i,
                          role=Role(t["role"]), content=t["content"], status=TurnStatus.COMPLETE,
                          created_at=ts, updated_at=ts))
    store.write_conversation_whole(c, turns)
    return cid


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--split", default="test", choices=("train", "dev", "test", "all", "train+dev"))
    ap.add_argument("--corpus", type=Path, default=CORPUS,
                    help="a folder of corpus files (tests/fixtures/memory_corpus_b: the set the weights never saw)")
    ap.add_argument("--mode", nargs="+", default=["default", "lossless"])
    ap.add_argument("--model", default="none", help="smollm2, or none for the deterministic floor")
    ap.add_argument("--budget", type=int, default=1200)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--show", action="store_true", help="print each archive's YAML")
    ap.add_argument("--only", nargs="+", default=None, help="conversation ids (e.g. c027) to run alone")
    ap.add_argument("--misses", action="store_true",
                    help="print each key fact the archive lost, with the last turn that says it")
    args = ap.parse_args()

    from secantus import SecantusDBServer
    from pymongo import MongoClient
    import llama_cpp

    from forge_tui.compression import compress
    from forge_tui.engine.model_files import smollm2_path
    from forge_tui.protocol.render import dump_archive
    from forge_tui.store.repository import Store

    splits = ("train", "dev") if args.split == "train+dev" else (args.split,)
    convs = [c for s in splits for c in load(s, args.corpus) if not args.only or c["id"].split("_")[0] in args.only]
    if not convs:
        print(f"no conversations in split {args.split}")
        return 1
    vocab = llama_cpp.Llama(model_path=str(smollm2_path()), vocab_only=True, verbose=False)

    def count_tokens(text: str) -> int:
        return len(vocab.tokenize(text.encode(), add_bos=False, special=False))

    engine = None
    if args.model != "none":
        from forge_tui.config import ModelSpec
        from forge_tui.engine.llama_engine import LlamaEngine

        engine = LlamaEngine(ModelSpec(name=args.model, path=f"package:llm_{args.model}", n_ctx=4096,
                                       n_threads=args.threads), Path(tempfile.mkdtemp()))
        engine.wait_ready()
    tmp = Path(tempfile.mkdtemp(prefix="forge-archive-bench-"))
    server = SecantusDBServer(host="127.0.0.1", port=0, storage_path=str(tmp / "db"))
    server.start()
    try:
        host, port = server.address
        store = Store(MongoClient(f"mongodb://{host}:{port}/?directConnection=true", tz_aware=True)["bench"])
        store.ensure_schema()
        print(f"split={args.split} conversations={len(convs)} model={args.model} budget={args.budget}")
        # fixed times: every id and timestamp in the header, and so every archive, is the same from run to
        # run (with the clock's, the header's token count moved the room for statements: +-0.01 key facts)
        from forge_tui.compression import build

        build.utcnow = lambda: FIXED_TIME
        for m, mode in enumerate(args.mode):
            rows = []
            for conv in convs:
                cid = write(store, conv, FIXED_TIME + timedelta(days=m))
                t0 = time.perf_counter()
                result = compress(store, engine, cid, mode=mode, budget_tokens=args.budget, counter=count_tokens)
                seconds = time.perf_counter() - t0
                archive = result.archive
                if args.show:
                    print(result.yaml_text)
                body = archive_body(archive)
                if args.misses:
                    print_misses(conv, body, mode)
                n = result.tokens_archive
                last, first = truncation_recall(conv, count_tokens, n)
                right, total = question_status(conv, archive)
                rows.append(dict(id=conv["id"], facts=fact_recall(conv["expected"].get("key_facts", []), body),
                                 last=last, first=first, q_right=right, q_total=total,
                                 stale=stale_current(conv, archive), n_stale=len(conv["expected"].get("stale_values", [])),
                                 ratio=n / max(1, result.tokens_source), seconds=seconds,
                                 oracle=oracle_tokens(conv, count_tokens),
                                 sections={k: count_tokens(dump_archive({k: archive[k]})) for k in SECTIONS
                                           if archive.get(k)}))
            report(mode, rows)
    finally:
        server.stop()
    return 0


def print_misses(conv: dict, body: str, mode: str) -> None:
    """Each key fact missing from ``body``, with the last turn (index, role, turns from the end) saying it."""
    low = body.lower()
    n = len(conv["turns"])
    for fact in conv["expected"].get("key_facts", []):
        if fact.lower() in low:
            continue
        where = [i for i, t in enumerate(conv["turns"]) if fact.lower() in t["content"].lower()]
        at = f"turn {where[-1]} ({conv['turns'][where[-1]]['role']}, {n - 1 - where[-1]} from the end)" if where else "nowhere"
        print(f"  miss {mode} {conv['id']}: {fact!r} — last said in {at}")


def oracle_tokens(conv: dict, count_tokens) -> int:
    """Tokens of the fewest whole statements (the archive's units, each with its "- text: " line)
    that hold every key fact, chosen greedily knowing the answers: what a perfect ranking of
    statements would need."""
    from forge_tui.compression import salience

    facts = {f.lower() for f in conv["expected"].get("key_facts", [])}
    units = [(count_tokens(u.text) + 3, {f for f in facts if f in u.text.lower()}) for u in salience.units(conv["turns"])]
    cost = 0
    while facts:
        tokens, holds = max(units, key=lambda u: len(u[1] & facts) / u[0])
        if not holds & facts:
            break
        facts -= holds
        cost += tokens
    return cost


def report(mode: str, rows: list[dict]) -> None:
    mean = lambda k: sum(r[k] for r in rows) / len(rows)  # noqa: E731
    q_right = sum(r["q_right"] for r in rows)
    q_total = sum(r["q_total"] for r in rows)
    print(f"\n== {mode} ({len(rows)} conversations)")
    print(f"key facts kept: archive {mean('facts'):.3f} | last-N {mean('last'):.3f} | first-N {mean('first'):.3f}"
          f"  (archive - last-N = {mean('facts') - mean('last'):+.3f})")
    print(f"questions with the right status: {q_right}/{q_total} = {q_right / max(1, q_total):.3f}")
    print(f"stale values presented as current: {sum(r['stale'] for r in rows)} of {sum(r['n_stale'] for r in rows)}")
    ratios = [r["ratio"] for r in rows]
    print(f"archive/source tokens: median {statistics.median(ratios):.2f}, max {max(ratios):.2f}, "
          f"larger than source: {sum(x > 1 for x in ratios)}")
    print("tokens by section (mean): " + ", ".join(
        f"{k} {sum(r['sections'].get(k, 0) for r in rows) / len(rows):.0f}" for k in SECTIONS))
    secs = sorted(r["seconds"] for r in rows)
    print(f"seconds per archive: median {statistics.median(secs):.2f}, max {secs[-1]:.2f}")
    if mode == "default":
        room = [r["sections"].get("facts", 0) + r["sections"].get("turns", 0) for r in rows]
        print(f"statements' room: median {statistics.median(room):.0f} tokens; whole statements holding every key "
              f"fact (chosen knowing them): median {statistics.median(r['oracle'] for r in rows):.0f} tokens, "
              f"within the room in {sum(r['oracle'] <= x for r, x in zip(rows, room))} of {len(rows)}")
    worst = sorted(rows, key=lambda r: r["facts"] - r["last"])[:5]
    print("lowest vs last-N: " + ", ".join(f"{r['id']} {r['facts']:.2f}/{r['last']:.2f}" for r in worst))


if __name__ == "__main__":
    raise SystemExit(main())
