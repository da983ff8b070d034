"""The registry on conversations written by others: what `forge decisions/threads` and the sidebar show.

    python bench/registry_quality.py [--split test|insample|dev|train] [--mongo-uri URI] [--embeddings]

Each corpus conversation is stored turn by turn in a real SecantusDB and every
turn goes through ``Extractor.process_turn`` exactly as live chat and imports
do (no LLM: the pipeline's drafts; without ``--embeddings`` the embedder is not
loaded, so the cue-only path runs; with it, the full path the app runs once its
embedder has loaded). Then the registry's state is scored like the pipeline's:
decisions found (recall, precision), questions with the right OPEN/RESOLVED
status, superseded values presented as current; and the time per turn
(p50/p95/max), which is the live per-turn extraction cost without a model call.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from forge_tui.config import Settings  # noqa: E402
from forge_tui.domain.ids import conversation_id, message_id  # noqa: E402
from forge_tui.domain.models import Conversation, Role, Turn  # noqa: E402
from forge_tui.knowledge.extraction import Extractor  # noqa: E402
from forge_tui.knowledge.pipeline import default_classifier  # noqa: E402
from forge_tui.knowledge.pipeline.corpus import load  # noqa: E402
from forge_tui.knowledge.pipeline.scoring import Scores, score  # noqa: E402
from forge_tui.knowledge.pipeline.state import ConversationState, DecisionItem, QuestionItem  # noqa: E402
from forge_tui.knowledge.registry import Registry  # noqa: E402
from forge_tui.store.repository import Store  # noqa: E402

SPLITS = {"test": ("test",), "insample": ("train", "dev"), "dev": ("dev",), "train": ("train",)}


def locate(turns: list[dict], index: dict[str, int], source: str, *texts: str) -> tuple[int, int, int] | None:
    """(turn, start, end) of the first of ``texts`` found in the source turn."""
    if source not in index:
        return None
    t = index[source]
    content = turns[t]["content"]
    for text in texts:
        for piece in (text, text.split(" (agreed: ", 1)[-1].rstrip(")")):
            words = piece.split()
            # the registry keeps sentences with their whitespace folded ("a\n- b" -> "a - b")
            found = re.search(r"\s+".join(map(re.escape, words)), content) if words else None
            if found:
                return (t, found.start(), found.end())
    return None


def registry_state(registry: Registry, project: str, turns: list[dict], ids: list[str]) -> ConversationState:
    index = {mid: i for i, mid in enumerate(ids)}
    state = ConversationState()
    for d in registry.decisions(project, include_inactive=True):
        if d.kind != "decision" or not d.sources or d.status == "dismissed":
            continue
        span = locate(turns, index, d.sources[0], d.statement, d.text)
        state.decisions.append(DecisionItem(
            d.id, d.text, d.value or d.text, "user", list(d.sources), [index.get(s, -1) for s in d.sources], d.tier,
            status="active" if d.status == "active" else "superseded", evidence=[span] if span else [],
        ))  # fmt: skip
    for t in registry.threads(project):
        span = locate(turns, index, t.sources[0], t.question, t.title) if t.sources else None
        state.questions.append(QuestionItem(
            t.id, t.title, t.question, "user", list(t.sources), [index.get(s, -1) for s in t.sources], 1.0,
            status="RESOLVED" if t.status != "OPEN" else "OPEN", evidence=[span] if span else [],
        ))  # fmt: skip
    return state


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=ROOT / "tests" / "fixtures" / "memory_corpus")
    parser.add_argument("--split", action="append", choices=sorted(SPLITS), help="default: test and insample")
    parser.add_argument("--mongo-uri", help="use this server instead of a temporary embedded one")
    parser.add_argument("--embeddings", action="store_true", help="load the embedder (the app's path once loaded)")
    args = parser.parse_args()
    embedder = None
    if args.embeddings:
        from forge_tui.config import EmbeddingSpec
        from forge_tui.search.embedder import Embedder

        embedder = Embedder(EmbeddingSpec()).start_loading()
        if not embedder.wait(300):
            raise SystemExit(f"the embedder did not load: {embedder.error}")
    server, uri = None, args.mongo_uri
    if uri is None:
        from secantus import SecantusDBServer  # bench-only, like the tests

        server = SecantusDBServer(host="127.0.0.1", port=0, storage_path=tempfile.mkdtemp(prefix="forge-bench-"))
        server.start()
        host, port = server.address
        uri = f"mongodb://{host}:{port}/?directConnection=true"
    store = Store.connect(uri, "forge_registry_bench_" + str(int(time.time())))
    store.ensure_schema()
    registry = Registry(store)
    extractor = Extractor(registry, None, Settings(), embedder=embedder, classifier=default_classifier(embedder))
    try:
        for split in args.split or ["test", "insample"]:
            scores, per_turn = Scores(), []
            for conv in load(args.corpus, SPLITS[split]):
                project = f"bench-{split}-{conv.id}"
                c = Conversation(id=conversation_id(project, conv.id, "bench"), project=project, title=conv.title)
                store.create_conversation(c)
                ids = []
                for i, t in enumerate(conv.turns):
                    turn = Turn(id=message_id(c.id, f"m{i}", None), conversation_id=c.id, seq=i,
                                role=Role(t["role"]), content=t["content"])
                    store.insert_turn(turn, project)
                    ids.append(turn.id)
                    started = time.perf_counter()
                    out = extractor.process_turn(turn, c)
                    per_turn.append(time.perf_counter() - started)
                    if not out.ok:
                        print(f"{conv.id} turn {i}: {out.error}", file=sys.stderr)
                score(conv, registry_state(registry, project, conv.turns, ids), scores)
            print(f"\n== registry, {split.upper() if split == 'test' else split} split: "
                  f"{scores.conversations} conversations, {len(per_turn)} turns (no LLM, classifier path "
                  f"{extractor.classifier.path})")
            print(f"decisions found: recall {scores.decision_recall:.2f} ({scores.decisions_found}/"
                  f"{scores.decisions_expected}), precision {scores.decision_precision:.2f} "
                  f"({scores.decisions_correct}/{scores.decisions_predicted})")
            print(f"questions with the right OPEN/RESOLVED status: {scores.question_status:.2f} "
                  f"({scores.questions_status_right}/{scores.questions_expected}); "
                  f"question precision {scores.question_precision:.2f}")
            print(f"superseded values presented as current: {scores.stale_current} (of {scores.stale_total})")
            ms = [s * 1000 for s in per_turn]
            print(f"extraction per turn (store writes included): p50 {pct(ms, .5):.1f} ms, p95 {pct(ms, .95):.1f} ms, "
                  f"max {max(ms):.1f} ms")
    finally:
        store.db.client.drop_database(store.db.name)
        if server is not None:
            server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
