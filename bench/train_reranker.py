"""Train the search reranker (forge_tui/search/reranker.npz) on LoCoMo's tuning split, samples 0-4.

    python bench/train_reranker.py [PATH_TO_locomo10.json] [--dry-run]

Samples 5-9 are never read here: they are the held-out split that bench/locomo_retrieval.py reports.
The candidates are made by Forge's own pieces in memory, exactly as ``SearchService`` makes them: the
keyword index (``KeywordIndex`` over ``passage`` with the previous turn's ``keyword_context``), the
vector index over the embedded passages, ``Ranking``/``fuse`` for the fused order, the best
``RERANK_DEPTH`` of it, and ``rerank.features`` for each. Labels: whether a candidate is one of the
question's evidence turns. Vectors come from bench/.cache (filled by locomo_retrieval.py) or are
embedded here with the configured model.

It prints cross-validated recall (train on samples 0-2, test on 3-4; train on 2-4, test on 0-1) for the
fused order and the reranked one, then trains on all of 0-4 and saves the model (unless --dry-run).
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

from forge_tui.config import EmbeddingSpec  # noqa: E402
from forge_tui.search.fusion import CANDIDATES, SEMANTIC_WEIGHT, Ranking, fuse  # noqa: E402
from forge_tui.search.keyword_index import KeywordIndex  # noqa: E402
from forge_tui.search.passages import EMBED_CHARS, keyword_context, passage, speaker  # noqa: E402
from forge_tui.search.rerank import (  # noqa: E402
    FEATURES, MODEL_PATH, RERANK_DEPTH, Candidate, RerankModel, features, fit,
)
from forge_tui.search.vector_index import VectorIndex  # noqa: E402

TRAIN_SAMPLES = range(0, 5)


def load(path: Path) -> tuple[list[dict], list[dict]]:
    """Turns (as message documents) and answerable questions of the tuning samples."""
    data = json.loads(path.read_text(encoding="utf-8"))
    docs, questions = [], []
    for s in TRAIN_SAMPLES:
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
                questions.append({"sample": s, "question": str(qa["question"]).strip(), "evidence": evidence})
    return docs, questions


def candidate_sets(docs, questions, embedder) -> list[tuple[dict, list[Candidate], np.ndarray]]:
    """Per question: its fused order's best candidates and their features, as ``SearchService`` builds them."""
    keyword = KeywordIndex()
    by_position = {(d["conversation_id"], d["seq"]): d for d in docs}
    for d in docs:
        keyword.add(d["_id"], passage(d), d["project"], context=keyword_context(by_position.get((d["conversation_id"], d["seq"] - 1))))
    passage_vectors = embedder.embed([passage(d)[:EMBED_CHARS] for d in docs])
    vectors = VectorIndex(passage_vectors.shape[1])
    vectors.add_many([d["_id"] for d in docs], passage_vectors, [d["project"] for d in docs])
    query_vectors = embedder.embed([q["question"][:EMBED_CHARS] for q in questions])
    by_id = {d["_id"]: d for d in docs}
    out = []
    for q, qvec in zip(questions, query_vectors):
        project = f"locomo-{q['sample']}"
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


def train_on(sets) -> RerankModel:
    return fit([(x, np.array([1.0 if c.doc_id in q["evidence"] else 0.0 for c in cands])) for q, cands, x in sets])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", default=str(DEFAULT_PATH), help="locomo10.json")
    parser.add_argument("--dry-run", action="store_true", help="report only; do not write the model")
    args = parser.parse_args()
    path = Path(args.path).expanduser()
    if not path.is_file():
        print(f"train_reranker: {path} not found; pass the path to locomo10.json", file=sys.stderr)
        return 2
    docs, questions = load(path)
    embedder = caching_embedder(EmbeddingSpec(), True)
    texts = [passage(d)[:EMBED_CHARS] for d in docs] + [q["question"][:EMBED_CHARS] for q in questions]
    if not all(hashlib.sha1(t.encode("utf-8", "replace")).hexdigest() in embedder.cache for t in texts):
        embedder.start_loading()  # only when bench/.cache lacks some vector
        if not embedder.wait(600):
            print(f"train_reranker: the embedding model did not load: {embedder.error}", file=sys.stderr)
            return 1
    sets = candidate_sets(docs, questions, embedder)
    embedder.save()
    print(f"{len(docs)} turns, {len(questions)} questions of samples 0-4; {RERANK_DEPTH} candidates each")
    print(f"{'train -> test':<16} {'fused R@5/R@10':>16} {'reranked R@5/R@10':>18}")
    for train, test in ((range(0, 3), range(3, 5)), (range(2, 5), range(0, 2))):
        tr = [s for s in sets if s[0]["sample"] in train]
        te = [s for s in sets if s[0]["sample"] in test]
        model = train_on(tr)
        print(f"{train.start}-{train.stop - 1} -> {test.start}-{test.stop - 1}{'':<8} "
              f"{recall(te, None, 5):.3f}/{recall(te, None, 10):.3f}      "
              f"{recall(te, model, 5):.3f}/{recall(te, model, 10):.3f}")
    model = train_on(sets)
    print(f"0-4 in-sample    {recall(sets, None, 5):.3f}/{recall(sets, None, 10):.3f}      "
          f"{recall(sets, model, 5):.3f}/{recall(sets, model, 10):.3f}")
    print("weights (standardised features):")
    for name, w in zip(FEATURES, model.weights):
        print(f"  {name:<28} {w:+.3f}")
    if not args.dry_run:
        model.save(MODEL_PATH)
        print(f"saved {MODEL_PATH.relative_to(ROOT)} ({MODEL_PATH.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
