"""Extraction quality on the memory corpus: sentence labels and the state they build.

    python bench/extraction_quality.py [--corpus DIR] [--no-embeddings] [--misses N] [--split test|insample|dev]

Prints, for the TEST split (never tuned on) and in-sample (train+dev, what the
weights were fitted on), precision / recall / F1 per label, then the state
measures: decisions found (recall and precision), questions with the right
OPEN / RESOLVED status, superseded values presented as current, artifacts found.
Each block runs twice: with the embedder loaded (what the app runs once it is
ready: the ``full`` weights when the shipped model has them, and embedding
similarity for revisions) and without it (cue features alone: what runs while
the embedder loads or when it cannot). No LLM is involved.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from forge_tui.knowledge.pipeline import SentenceClassifier, Tracker, extract_state, shipped_model  # noqa: E402
from forge_tui.knowledge.pipeline.corpus import load  # noqa: E402
from forge_tui.knowledge.pipeline.scoring import SCORED, Scores, score  # noqa: E402

SPLITS = {"test": ("test",), "insample": ("train", "dev"), "dev": ("dev",), "train": ("train",)}


def run(convs, classifier) -> Scores:
    scores = Scores()
    for conv in convs:
        score(conv, extract_state(conv.dict_turns(), classifier), scores)
    return scores


def per_turn_ms(convs, classifier) -> list[float]:
    """Time to fold one more turn into a conversation's state (the live per-turn cost, no store)."""
    out = []
    for conv in convs:
        tracker = Tracker(classifier)
        for turn in conv.dict_turns():
            started = time.perf_counter()
            tracker.add(turn)
            out.append((time.perf_counter() - started) * 1000)
    return sorted(out)


def report(name: str, s: Scores) -> None:
    print(f"\n== {name}: {s.conversations} conversations")
    print(f"{'label':<12}{'precision':>10}{'recall':>8}{'F1':>7}{'support':>9}")
    for label in SCORED:
        p, r, f = s.prf(label)
        support = s.sentence[(label, "tp")] + s.sentence[(label, "fn")]
        print(f"{label:<12}{p:>10.2f}{r:>8.2f}{f:>7.2f}{support:>9}")
    print(f"decisions found: recall {s.decision_recall:.2f} ({s.decisions_found}/{s.decisions_expected}), "
          f"precision {s.decision_precision:.2f} ({s.decisions_correct}/{s.decisions_predicted})")
    print(f"questions with the right OPEN/RESOLVED status: {s.question_status:.2f} "
          f"({s.questions_status_right}/{s.questions_expected}); question precision {s.question_precision:.2f} "
          f"({s.questions_correct}/{s.questions_predicted})")
    print(f"superseded values presented as current: {s.stale_current} (of {s.stale_total})")
    if s.artifacts_expected:
        print(f"artifacts found: {s.artifacts_found}/{s.artifacts_expected}")


class _Embedder:
    """The real embedder, loaded once and waited for (the bench measures the ready path)."""

    def __init__(self):
        from forge_tui.config import EmbeddingSpec
        from forge_tui.search.embedder import Embedder

        self.inner = Embedder(EmbeddingSpec()).start_loading()
        if not self.inner.wait(300):
            raise SystemExit(f"the embedder did not load: {self.inner.error}")
        self.is_ready = True

    def embed(self, texts):
        return self.inner.embed(texts)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", type=Path, default=ROOT / "tests" / "fixtures" / "memory_corpus")
    parser.add_argument("--no-embeddings", action="store_true", help="only the cue-only path")
    parser.add_argument("--split", action="append", choices=sorted(SPLITS), help="default: test and insample")
    parser.add_argument("--misses", type=int, default=0, help="print N mislabelled sentences (not for test!)")
    args = parser.parse_args()
    model = shipped_model()
    print(f"model: {model.info}")
    paths = [("no embedder", SentenceClassifier(model, None))]
    if not args.no_embeddings:  # the app's path once its embedder has loaded (full weights when shipped)
        paths.insert(0, ("embedder ready", SentenceClassifier(model, _Embedder())))
    for split in args.split or ["test", "insample"]:
        convs = load(args.corpus, SPLITS[split])
        for path, classifier in paths:
            started = time.perf_counter()
            s = run(convs, classifier)
            label = f"{split.upper() if split == 'test' else split} split, {path}, weights {classifier.path}"
            report(f"{label} ({time.perf_counter() - started:.1f}s)", s)
            ms = per_turn_ms(convs, classifier)
            print(f"per turn ({path}): p50 {ms[len(ms) // 2]:.1f} ms, p95 {ms[int(len(ms) * 0.95)]:.1f} ms, "
                  f"max {ms[-1]:.1f} ms over {len(ms)} turns")
            if args.misses and split != "test":
                print("\n".join(s.misses[: args.misses]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
