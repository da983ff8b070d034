"""Train the search reranker (forge_tui/search/reranker.npz) on Forge's own labelled memory corpus.

    python bench/train_reranker.py [--dry-run]                          # --source corpus, the default
    python bench/train_reranker.py --source locomo [PATH_TO_locomo10.json]  # comparison only, never saved

The shipped weights come from ``tests/fixtures/memory_corpus`` (questions made by
bench/reranker_corpus.py; trained on its train split, checked on dev, test only reported, then refitted
on train+dev). LoCoMo is CC BY-NC 4.0 and benchmark-only: weights learnt from it must not ship, so
``--source locomo`` (samples 0-4) only prints its cross-validation and refuses to write the model; all
ten LoCoMo samples stay held-out for the shipped reranker (bench/locomo_retrieval.py).
The candidates are made by Forge's own pieces in memory, exactly as ``SearchService`` makes them: the
keyword index (``KeywordIndex`` over ``passage`` with the previous turn's ``keyword_context``), the
vector index over the embedded passages, ``Ranking``/``fuse`` for the fused order, the best
``RERANK_DEPTH`` of it, and ``rerank.features`` for each. Labels: whether a candidate is one of the
question's evidence turns. Vectors come from bench/.cache (filled by locomo_retrieval.py) or are
embedded here with the configured model.

Corpus: it prints recall of the fused order and the reranked one for train -> dev, train -> test and
train+dev -> test, then saves the train+dev model (unless --dry-run). LoCoMo: cross-validated recall
inside samples 0-4 (train 0-2, test 3-4; train 2-4, test 0-1) and in-sample, nothing saved.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from locomo_retrieval import (  # noqa: E402  (bench/ beside this file)
    CATEGORIES, DEFAULT_PATH, ROOT, caching_embedder, normalise_dia, transcripts,
)
from reranker_corpus import load_corpus  # noqa: E402

from forge_tui.config import EmbeddingSpec  # noqa: E402
from forge_tui.search.fusion import CANDIDATES, SEMANTIC_WEIGHT, Ranking, fuse  # noqa: E402
from forge_tui.search.keyword_index import KeywordIndex  # noqa: E402
from forge_tui.search.passages import EMBED_CHARS, keyword_context, passage, query_passage, speaker  # noqa: E402
from forge_tui.search.rerank import (  # noqa: E402
    FEATURES, MODEL_PATH, RERANK_DEPTH, Candidate, RerankModel, features, fit,
)
from forge_tui.search.vector_index import VectorIndex  # noqa: E402

TRAIN_SAMPLES = range(0, 5)


def load(path: Path, samples: range = TRAIN_SAMPLES) -> tuple[list[dict], list[dict]]:
    """Turns (as message documents) and answerable questions of LoCoMo ``samples``."""
    data = json.loads(path.read_text(encoding="utf-8"))
    docs, questions = [], []
    for s in samples:
        ids = {}
        for conv in transcripts(data[s], f"locomo-{s}")["conversations"]:
            for seq, m in enumerate(conv["messages"]):
                doc = {"_id": f"{s}/{m['id']}", "project": f"locomo-{s}", "conversation_id": conv["id"], "seq": seq,
                       "role": m["role"], "content": m["content"], "source": {"name": m["name"]}}
                docs.append(doc)
                ids[normalise_dia(m["id"])] = doc["_id"]
        for qa in data[s].get("qa", []):
            evidence = {ids.get(normalise_dia(e)) for e in qa.get("evidence") or []} - {None}
            if qa.get("category") in CATEGORIES and evidence:
                questions.append({"group": s, "project": f"locomo-{s}", "question": str(qa["question"]).strip(), "evidence": evidence})
    return docs, questions


def query_texts(docs, questions) -> list[str]:
    """What ``SearchService`` embeds for each question: ``query_passage`` with its project's speakers."""
    speakers: dict[str, set[str]] = {}
    for d in docs:
        speakers.setdefault(d["project"], set()).add(speaker(d))
    return [query_passage(q["question"], speakers.get(q["project"], set())) for q in questions]


def candidate_sets(docs, questions, embedder) -> list[tuple[dict, list[Candidate], np.ndarray]]:
    """Per question: its fused order's best candidates and their features, as ``SearchService`` builds them."""
    keyword = KeywordIndex()
    by_position = {(d["conversation_id"], d["seq"]): d for d in docs}
    for d in docs:
        keyword.add(d["_id"], passage(d), d["project"], context=keyword_context(by_position.get((d["conversation_id"], d["seq"] - 1))))
    passage_vectors = embedder.embed([passage(d)[:EMBED_CHARS] for d in docs])
    vectors = VectorIndex(passage_vectors.shape[1])
    vectors.add_many([d["_id"] for d in docs], passage_vectors, [d["project"] for d in docs])
    query_vectors = embedder.embed(query_texts(docs, questions))
    by_id = {d["_id"]: d for d in docs}
    out = []
    for q, qvec in zip(questions, query_vectors):
        project = q["project"]
        kw = Ranking.from_rows("keyword", keyword.scores(q["question"], project), keyword.row_of, CANDIDATES)
        sem = Ranking.from_rows("semantic", vectors.scores(qvec, project), vectors.row_of, CANDIDATES)
        fused = fuse([sem, kw], SEMANTIC_WEIGHT)
        head = sorted(fused, key=lambda d: (-fused[d], d))[:RERANK_DEPTH]
        cands = []
        for d in head:
            doc = by_id[d]
            before = by_position.get((doc["conversation_id"], doc["seq"] - 1))
            after = by_position.get((doc["conversation_id"], doc["seq"] + 1))
            cands.append(Candidate(
                d, sem.z(d), kw.z(d), fused[d], doc["conversation_id"], doc["seq"], speaker(doc), doc["content"],
                previous_semantic_z=sem.z(before["_id"]) if before else 0.0,
                next_semantic_z=sem.z(after["_id"]) if after else 0.0,
                previous_keyword_z=kw.z(before["_id"]) if before else 0.0,
                next_keyword_z=kw.z(after["_id"]) if after else 0.0,
            ))
        out.append((q, cands, features(q["question"], cands, kw.idf())))
    return out


def recall(sets, model: RerankModel | None, k: int) -> float:
    values = []
    for q, cands, x in sets:
        order = [c.doc_id for c in cands]
        if model is not None:
            p = model.scores(x)
            order = [order[i] for i in sorted(range(len(order)), key=lambda i: (-p[i], i))]
        values.append(len(q["evidence"] & set(order[:k])) / len(q["evidence"]))
    return statistics.fmean(values)


#: L2 penalty, chosen on the memory corpus' dev split (train -> dev R@5/R@10: 1e-3 0.883/0.938,
#: 1e-2 0.891/0.942, 1e-1 0.887/0.944, 1 0.874/0.922).
L2 = 1e-2


def train_on(sets) -> RerankModel:
    return fit([(x, np.array([1.0 if c.doc_id in q["evidence"] else 0.0 for c in cands])) for q, cands, x in sets], l2=L2)


def report(name: str, train: list, test: list) -> RerankModel:
    model = train_on(train)
    print(f"{name:<24} {recall(test, None, 5):.3f}/{recall(test, None, 10):.3f}      "
          f"{recall(test, model, 5):.3f}/{recall(test, model, 10):.3f}")
    return model


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", default=str(DEFAULT_PATH), help="locomo10.json (--source locomo only)")
    parser.add_argument("--source", choices=("corpus", "locomo"), default="corpus",
                        help="corpus: Forge's memory corpus (writes the model); locomo: comparison only")
    parser.add_argument("--dry-run", action="store_true", help="report only; do not write the model")
    args = parser.parse_args()
    if args.source == "locomo":
        path = Path(args.path).expanduser()
        if not path.is_file():
            print(f"train_reranker: {path} not found; pass the path to locomo10.json", file=sys.stderr)
            return 2
        docs, questions = load(path, range(0, 10))
    else:
        docs, questions = load_corpus()
    embedder = caching_embedder(EmbeddingSpec(), True)
    texts = [passage(d)[:EMBED_CHARS] for d in docs] + query_texts(docs, questions)
    if not all(hashlib.sha1(t.encode("utf-8", "replace")).hexdigest() in embedder.cache for t in texts):
        embedder.start_loading()  # only when bench/.cache lacks some vector
        if not embedder.wait(600):
            print(f"train_reranker: the embedding model did not load: {embedder.error}", file=sys.stderr)
            return 1
    sets = candidate_sets(docs, questions, embedder)
    embedder.save()
    print(f"{args.source}: {len(docs)} turns, {len(questions)} questions; {RERANK_DEPTH} candidates each")
    print(f"{'train -> test':<24} {'fused R@5/R@10':>16} {'reranked R@5/R@10':>18}")
    if args.source == "locomo":
        tune = [s for s in sets if s[0]["group"] in TRAIN_SAMPLES]
        for train, test in ((range(0, 3), range(3, 5)), (range(2, 5), range(0, 2))):
            report(f"{train.start}-{train.stop - 1} -> {test.start}-{test.stop - 1}",
                   [s for s in tune if s[0]["group"] in train], [s for s in tune if s[0]["group"] in test])
        report("0-4 -> 5-9", tune, [s for s in sets if s[0]["group"] not in TRAIN_SAMPLES])
        print("LoCoMo is CC BY-NC (benchmarks only): a model learnt from it is never saved.")
        shipped = RerankModel.load(MODEL_PATH)
        for name, part in (("0-4", range(0, 5)), ("5-9", range(5, 10)), ("0-9", range(0, 10))):
            held = [s for s in sets if s[0]["group"] in part]
            print(f"{'shipped model on ' + name:<24} {recall(held, None, 5):.3f}/{recall(held, None, 10):.3f}      "
                  f"{recall(held, shipped, 5):.3f}/{recall(held, shipped, 10):.3f}")
        return 0
    split = {name: [s for s in sets if s[0]["split"] == name] for name in ("train", "dev", "test")}
    report("train -> dev", split["train"], split["dev"])
    report("train -> test", split["train"], split["test"])
    model = report("train+dev -> test", split["train"] + split["dev"], split["test"])
    print("weights (standardised features, train+dev):")
    for name, w in zip(FEATURES, model.weights):
        print(f"  {name:<28} {w:+.3f}")
    if not args.dry_run:
        model.save(MODEL_PATH)
        print(f"saved {MODEL_PATH.relative_to(ROOT)} ({MODEL_PATH.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
