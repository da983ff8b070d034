"""Train the sentence classifier on the corpus's train+dev split and write the shipped weights.

    python -m forge_tui.knowledge.pipeline.train [--corpus DIR] [--extra FILE.jsonl] [--out PATH] [--no-embeddings]

Reproducible: fixed seed, full-batch training, sorted inputs. The regularisation
and class weighting are chosen from ``GRID`` on dev (trained on train; the grid
itself was narrowed by cross-validation over train+dev), then the final
weights are fitted on train+dev; the thresholds are chosen on every train+dev
conversation labelled by weights refitted without its fold (cross-fitting); the
test split is never read. ``--extra``
adds labelled sentences (``forge dataset --corrections`` exports the user's
hand corrections in that format: ``{"text", "label", "role"}`` per line).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import numpy as np

from forge_tui.knowledge.pipeline import cues
from forge_tui.knowledge.pipeline.classify import MAX_EMBED_CHARS, SentenceClassifier, TurnText, turn_units
from forge_tui.knowledge.pipeline.corpus import Conversation, load
from forge_tui.knowledge.pipeline.model import LABELS, LinearModel, SentenceModel, design, fit
from forge_tui.knowledge.pipeline.scoring import Scores, score
from forge_tui.knowledge.pipeline.state import extract_state

DEFAULT_CORPUS = Path(__file__).resolve().parents[3] / "tests" / "fixtures" / "memory_corpus"
DEFAULT_OUT = Path(__file__).resolve().parent / "sentence_model.npz"
SEED = 1234
#: (l2, class-weight power) of the cue weights. Fixed by 4-fold cross-validation of the state scores over
#: train+dev (decisions F1 0.687 at 1e-3, 0.700 at 3e-3, 0.676 at 1e-2); dev's 15 conversations scored by
#: sentence macro-F1 used to choose 1e-3 from a grid, which the pipeline's decisions did not bear out.
GRID = [(3e-3, 0.5)]


@dataclass
class Rows:
    texts: list[str]
    cue: np.ndarray
    y: np.ndarray
    groups: list[str]  # conversation id per row


def rows_for(convs: list[Conversation], live_copies: bool = False) -> Rows:
    """One row per prose unit; ``live_copies`` adds each unit again as live extraction sees it (no reply yet)
    and each user unit once more with no context at all (a conversation's first message: the corpus's
    sessions all open with a request, and "let's use Redis" stays a decision without a turn before it)."""
    texts, feats, ys, groups = [], [], [], []
    for conv in convs:
        turns = [TurnText(t["role"], t["content"], f"{conv.id}:{i}") for i, t in enumerate(conv.turns)]
        for i in range(len(turns)):
            views = [turn_units(turns, i)]
            if live_copies:
                views.append(turn_units(turns, i, with_next=False))
                if i > 0 and turns[i].role == "user":
                    views.append(turn_units([turns[i]], 0))
            targets = conv.sentence_targets(i, [s for s, _ in views[0]])
            for units in views:
                for (s, ctx), target in zip(units, targets):
                    texts.append(s.text)
                    feats.append(cues.features(s.text, ctx))
                    ys.append(LABELS.index(target))
                    groups.append(conv.id)
    cue = np.vstack(feats) if feats else np.zeros((0, len(cues.FEATURE_NAMES)), np.float32)
    return Rows(texts, cue, np.asarray(ys, dtype=np.int64), groups)


def extra_rows(path: Path) -> Rows:
    """Hand-labelled sentences (one JSON object per line: text, label, role)."""
    texts, feats, ys = [], [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        if row.get("label") not in LABELS:
            continue
        ctx = cues.Context(role=row.get("role", "user"))
        texts.append(row["text"])
        feats.append(cues.features(row["text"], ctx))
        ys.append(LABELS.index(row["label"]))
    cue = np.vstack(feats) if feats else np.zeros((0, len(cues.FEATURE_NAMES)), np.float32)
    return Rows(texts, cue, np.asarray(ys, dtype=np.int64), ["extra"] * len(texts))


def concat(a: Rows, b: Rows) -> Rows:
    return Rows(a.texts + b.texts, np.vstack([a.cue, b.cue]), np.concatenate([a.y, b.y]), a.groups + b.groups)


def class_weights(y: np.ndarray, power: float) -> np.ndarray:
    counts = np.bincount(y, minlength=len(LABELS)).astype(np.float64)
    w = np.where(counts > 0, (counts.sum() / np.maximum(counts, 1)) ** power, 0.0)
    return w / w[counts > 0].mean()


def macro_f1(y: np.ndarray, pred: np.ndarray) -> float:
    scores = []
    for k in range(1, len(LABELS)):  # "other" is not a label anyone asks for
        tp = int(((pred == k) & (y == k)).sum())
        fp = int(((pred == k) & (y != k)).sum())
        fn = int(((pred != k) & (y == k)).sum())
        if tp + fp + fn:
            scores.append(2 * tp / (2 * tp + fp + fn))
    return float(np.mean(scores)) if scores else 0.0


class CachedEmbedder:
    """The shipped embedder, each distinct text embedded once (training reads every sentence several times)."""

    is_ready = True

    def __init__(self):
        from forge_tui.config import EmbeddingSpec
        from forge_tui.search.embedder import Embedder

        self.inner = Embedder(EmbeddingSpec()).start_loading()
        if not self.inner.wait(300):
            raise SystemExit(f"the embedder did not load: {self.inner.error}")
        self.cache: dict[str, np.ndarray] = {}

    def embed(self, texts: list[str]) -> np.ndarray:
        keys = [t[:MAX_EMBED_CHARS] for t in texts]
        todo = sorted({k for k in keys if k not in self.cache})
        for i in range(0, len(todo), 256):
            for k, v in zip(todo[i:i + 256], self.inner.embed(todo[i:i + 256])):
                self.cache[k] = np.asarray(v, dtype=np.float32)
        return np.vstack([self.cache[k] for k in keys]) if keys else np.zeros((0, self.inner.dim), np.float32)


def choose(x_train, y_train, x_dev, y_dev) -> tuple[float, float, float]:
    best = (-1.0, GRID[0][0], GRID[0][1])
    for l2, power in GRID:
        model = fit(x_train, y_train, len(LABELS), l2=l2, class_weight=class_weights(y_train, power), seed=SEED)
        score = macro_f1(y_dev, model.proba(x_dev).argmax(axis=1)) if len(y_dev) else 0.0
        if score > best[0]:
            best = (score, l2, power)
    return best


def train(corpus: Path, extra: list[Path], use_embeddings: bool, log=print) -> SentenceModel:
    train_convs, dev_convs = load(corpus, ("train",)), load(corpus, ("dev",))
    if not train_convs:
        raise SystemExit(f"no training conversations in {corpus}")
    tr, dv = rows_for(train_convs, live_copies=True), rows_for(dev_convs, live_copies=True)
    for path in extra:
        tr = concat(tr, extra_rows(path))
    log(f"train: {len(train_convs)} conversations, {len(tr.y)} sentences; dev: {len(dev_convs)}, {len(dv.y)}")
    both = concat(tr, dv)
    emb_tr = emb_dv = None
    embedder = CachedEmbedder() if use_embeddings else None
    if embedder is not None:
        emb_all = embedder.embed(both.texts)
        emb_tr, emb_dv = emb_all[: len(tr.y)], emb_all[len(tr.y):]
    score, l2, power = choose(tr.cue, tr.y, dv.cue, dv.y)
    log(f"cues model: dev macro-F1 {score:.3f} (l2 {l2}, class-weight power {power})")
    dev_cue = fit(tr.cue, tr.y, len(LABELS), l2=l2, class_weight=class_weights(tr.y, power), seed=SEED)
    cue_model = fit(both.cue, both.y, len(LABELS), l2=l2, class_weight=class_weights(both.y, power), seed=SEED)
    # thresholds from every train+dev conversation, each labelled by weights that never saw it (more
    # conversations than dev alone, whose 15 made the choice swing)
    held = held_out_classifiers(train_convs + dev_convs, SentenceModel(None, cue_model, cues.FEATURE_NAMES, 0, "",
                                                                        l2=l2, power=power), log=log)
    thresholds, _ = tune_thresholds(
        lambda conv, th: SentenceClassifier(replace(held[conv.id].model, thresholds=th), None),
        train_convs + dev_convs, log)
    dev_cue_classifier = SentenceClassifier(SentenceModel(None, dev_cue, cues.FEATURE_NAMES, 0, "", thresholds), None)
    final = state_scores(dev_convs, lambda conv, th: dev_cue_classifier, thresholds)
    state_c = _state_f1(final)
    full_model: LinearModel | None = None
    full_thresholds: tuple[float, ...] = ()
    if embedder is not None:
        score_f, l2f, power_f = choose(design(tr.cue, emb_tr), tr.y, design(dv.cue, emb_dv), dv.y)
        log(f"full model: dev macro-F1 {score_f:.3f} (l2 {l2f}, class-weight power {power_f})")
        dev_full = fit(design(tr.cue, emb_tr), tr.y, len(LABELS), l2=l2f, class_weight=class_weights(tr.y, power_f),
                       seed=SEED)
        full_thresholds, state_f = tune_thresholds(
            lambda conv, th: SentenceClassifier(
                SentenceModel(dev_full, dev_cue, cues.FEATURE_NAMES, int(emb_tr.shape[1]), "", (), th), embedder),
            dev_convs, log)
        # what decides is the state the pipeline builds (decisions and questions on dev), not sentence F1
        if state_f <= state_c:
            log(f"the embeddings do not beat the cues on dev ({state_f:.3f} vs {state_c:.3f}): "
                "shipping the cue-only weights for both paths")
            use_embeddings = False
        else:
            log(f"full path: dev decisions F1 + questions F1 {state_f:.3f} vs cues {state_c:.3f}")
    if use_embeddings:
        full_model = fit(design(both.cue, np.vstack([emb_tr, emb_dv])), both.y, len(LABELS), l2=l2f,
                         class_weight=class_weights(both.y, power_f), seed=SEED)
    else:
        full_thresholds = ()
    digest = hashlib.sha256("\n".join(sorted(c.id for c in train_convs + dev_convs)).encode()).hexdigest()[:12]
    info = (f"seed {SEED}; {len(train_convs)} train + {len(dev_convs)} dev conversations ({digest}); "
            f"{len(both.y)} sentences; extra {len(extra)} file(s)")
    return SentenceModel(full_model, cue_model, cues.FEATURE_NAMES, int(emb_tr.shape[1]) if use_embeddings else 0,
                         info, thresholds, full_thresholds, l2, power)


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def _state_f1(s: Scores) -> float:
    """Decisions F1 + questions F1 (what the full and cue paths are compared by)."""
    return _f1(s.decision_precision, s.decision_recall) + _f1(s.question_precision, s.question_status)


HELD_OUT_FOLDS = 4
TIE = 0.005  # decisions F1 this close to the best is a tie (one decision of 218 moves it by ~0.003)


def held_out_classifiers(convs: list[Conversation], model: SentenceModel, folds: int = HELD_OUT_FOLDS,
                         log=print) -> dict[str, SentenceClassifier]:
    """For each conversation, a cue-path classifier whose weights never saw it (cross-fitting).

    The linkers (``train_resolve``, ``train_revise``) learn from the labels the pipeline gives; read
    with the shipped weights, train+dev sentences are labelled almost perfectly (they were fitted on
    them), unlike any new conversation, and a linker trained on those labels expects too much of
    them. Each fold of ``convs`` (sorted by id, every ``folds``-th) is labelled by weights refitted
    on the other folds with ``model``'s regularisation and thresholds; with one conversation, the
    shipped weights label it.
    """
    ordered = sorted(convs, key=lambda c: c.id)
    k = min(folds, len(ordered))
    if k < 2:
        return {c.id: SentenceClassifier(model, None) for c in ordered}
    out: dict[str, SentenceClassifier] = {}
    for fold in range(k):
        rest = [c for i, c in enumerate(ordered) if i % k != fold]
        rows = rows_for(rest, live_copies=True)
        weights = fit(rows.cue, rows.y, len(LABELS), l2=model.l2, class_weight=class_weights(rows.y, model.power),
                      seed=SEED)
        held = SentenceModel(None, weights, cues.FEATURE_NAMES, 0, f"held out fold {fold}", model.thresholds)
        out.update({c.id: SentenceClassifier(held, None) for i, c in enumerate(ordered) if i % k == fold})
    log(f"labelled by held-out weights: {len(ordered)} conversations in {k} folds")
    return out


def tune_thresholds(make_classifier: Callable[[Conversation, tuple[float, ...]], SentenceClassifier],
                    convs: list[Conversation], log=print) -> tuple[tuple[float, ...], float]:
    """Per-speaker, per-label thresholds that maximise the decision and question state scores on
    ``convs``, and the score they reach there (decisions F1 + questions F1).

    ``make_classifier(conv, thresholds)``: the classifier that labels ``conv`` with those thresholds
    (weights that never saw it: held-out folds of train+dev for the cue path, train-fitted weights on
    dev for the full path).
    """

    def decisions(s: Scores) -> float:
        return _f1(s.decision_precision, s.decision_recall)

    def questions(s: Scores) -> float:
        return _f1(s.question_precision, s.question_status)

    n = len(LABELS)
    best = [0.0] * (2 * n)
    if not convs:
        return tuple(best), 0.0
    d, q = LABELS.index("decision"), LABELS.index("question")
    # (slot, what it is, metric): the user's decision threshold, the assistant's, then questions (both speakers)
    for slots, name, metric in (([d], "user decision", decisions), ([n + d], "assistant decision", decisions),
                                ([q, n + q], "question", questions)):
        scored = []
        for th in (0.0, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6):
            trial = list(best)
            for slot in slots:
                trial[slot] = th
            scored.append((round(metric(state_scores(convs, make_classifier, tuple(trial))), 4), -th))
        top, neg = max(scored)
        if metric is decisions:
            # within TIE of the best F1, the lowest: a decision kept is one the linkers can supersede and one that
            # can close a question, and a wrong one can be dismissed by hand; a missed one is gone. Held out, the
            # user's 0.45 / 0.5 / 0.55 score 0.706 / 0.704 / 0.708, and 0.55 lost 4 of 61 questions and 2 stale
            # values to 0.45
            top, neg = max(((f1, neg_th) for f1, neg_th in scored if f1 >= top - TIE), key=lambda x: x[1])
        for slot in slots:
            best[slot] = -neg
        log(f"{name} threshold {-neg} (F1 {top} on {len(convs)} conversations)")
    return tuple(best), _state_f1(state_scores(convs, make_classifier, tuple(best)))


def state_scores(convs: list[Conversation], make_classifier, thresholds: tuple[float, ...]) -> Scores:
    """The state scores of ``convs``, each labelled by ``make_classifier(conv, thresholds)``."""
    s = Scores()
    for conv in convs:
        score(conv, extract_state(conv.dict_turns(), make_classifier(conv, thresholds)), s)
    return s


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--extra", type=Path, action="append", default=[], help="JSONL of hand-labelled sentences")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--no-embeddings", action="store_true", help="train the cue-only weights alone")
    args = parser.parse_args(argv)
    if not args.corpus.is_dir():
        print(f"train: no corpus folder {args.corpus}; pass --corpus DIR", file=sys.stderr)
        return 2
    model = train(args.corpus, args.extra, not args.no_embeddings)
    model.save(args.out)
    print(f"wrote {args.out} ({model.info})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
