"""The sentence classifier's training script: reproducible, and the shipped weights fit this code."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from forge_tui.knowledge.pipeline import shipped_model
from forge_tui.knowledge.pipeline.cues import FEATURE_NAMES
from forge_tui.knowledge.pipeline.model import LABELS, ModelFileError, SentenceModel
from forge_tui.knowledge.pipeline.train import main

DEV_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "pipeline_dev"


def test_training_is_reproducible(tmp_path, capsys):
    a, b = tmp_path / "a.npz", tmp_path / "b.npz"
    assert main(["--corpus", str(DEV_FIXTURES), "--no-embeddings", "--out", str(a)]) == 0
    assert main(["--corpus", str(DEV_FIXTURES), "--no-embeddings", "--out", str(b)]) == 0
    ma, mb = SentenceModel.load(a), SentenceModel.load(b)
    assert np.array_equal(ma.cues.weights, mb.cues.weights) and ma.full is None
    assert "seed 1234" in ma.info and "wrote" in capsys.readouterr().out


def test_missing_corpus_is_a_clear_error(tmp_path, capsys):
    assert main(["--corpus", str(tmp_path / "nope"), "--out", str(tmp_path / "x.npz")]) == 2
    assert "no corpus folder" in capsys.readouterr().err


def test_shipped_weights_fit_the_code():
    model = shipped_model()
    assert model.feature_names == FEATURE_NAMES and model.cues.weights.shape == (len(FEATURE_NAMES), len(LABELS))
    assert "train" in model.info and len(model.thresholds) == 2 * len(LABELS)


def test_unreadable_weights_name_the_fix(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(ModelFileError, match="retrain it with"):
        SentenceModel.load(bad)


def test_resolution_linker_training_is_reproducible_and_the_shipped_one_fits(tmp_path, capsys):
    from forge_tui.knowledge.pipeline import resolve
    from forge_tui.knowledge.pipeline.train_resolve import main as train_resolve

    a, b = tmp_path / "a.json", tmp_path / "b.json"
    assert train_resolve(["--corpus", str(DEV_FIXTURES), "--out", str(a)]) == 0
    assert train_resolve(["--corpus", str(DEV_FIXTURES), "--out", str(b)]) == 0
    assert a.read_text() == b.read_text() and "seed 1234" in resolve.Linker.load(a).info
    shipped = resolve.shipped_linker()
    assert shipped.weights.shape == (len(resolve.FEATURE_NAMES),) and set(shipped.thresholds) == {"resolution",
                                                                                                   "decision"}
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(ModelFileError, match="retrain them"):
        resolve.Linker.load(bad)


def test_revision_linker_training_is_reproducible_and_the_shipped_one_fits(tmp_path):
    from forge_tui.knowledge.pipeline import revise
    from forge_tui.knowledge.pipeline.train_revise import main as train_revise

    a, b = tmp_path / "a.json", tmp_path / "b.json"
    assert train_revise(["--corpus", str(DEV_FIXTURES), "--out", str(a)]) == 0
    assert train_revise(["--corpus", str(DEV_FIXTURES), "--out", str(b)]) == 0
    assert a.read_text() == b.read_text() and "seed 1234" in revise.Reviser.load(a).info
    shipped = revise.shipped_reviser()
    assert shipped.weights.shape == (len(revise.FEATURE_NAMES),) and set(shipped.thresholds) == {"decision"}
    with pytest.raises(ModelFileError, match="train_revise"):
        revise.Reviser.load(tmp_path / "missing.json")


def test_held_out_classifiers_label_each_conversation_with_weights_that_never_saw_it():
    from forge_tui.knowledge.pipeline.corpus import load
    from forge_tui.knowledge.pipeline.train import SEED, class_weights, fit, held_out_classifiers, rows_for

    convs = load(DEV_FIXTURES)
    assert len(convs) >= 2
    shipped = shipped_model()
    held = held_out_classifiers(convs, shipped, log=lambda *_: None)
    assert set(held) == {c.id for c in convs}
    first, rest = convs[0], [c for i, c in enumerate(sorted(convs, key=lambda c: c.id)) if i % min(4, len(convs))]
    rows = rows_for(rest, live_copies=True)
    expected = fit(rows.cue, rows.y, len(LABELS), l2=shipped.l2, class_weight=class_weights(rows.y, shipped.power),
                   seed=SEED)
    assert np.array_equal(held[first.id].model.cues.weights, expected.weights)
    assert held[first.id].model.thresholds == shipped.thresholds and held[first.id].model.full is None


def test_the_fit_settings_travel_with_the_weights(tmp_path):
    model = shipped_model()
    path = tmp_path / "m.npz"
    SentenceModel(None, model.cues, model.feature_names, 0, "x", model.thresholds, (), 1e-2, 0.75).save(path)
    loaded = SentenceModel.load(path)
    assert (loaded.l2, loaded.power) == (1e-2, 0.75)


def test_linker_settings_are_scored_on_every_conversation_with_weights_that_never_saw_it(monkeypatch):
    from forge_tui.knowledge.pipeline import pair_training

    ids = [f"c{i:03d}" for i in range(9)]
    # one marker column per conversation: the fake fit returns which conversations its rows came from
    pairs = {cid: (np.eye(len(ids), dtype=np.float32)[[i, i]], np.array([0, 1])) for i, cid in enumerate(ids)}
    monkeypatch.setattr(pair_training, "fit_pairs",
                        lambda x, y, l2, power, seed: (x.sum(axis=0) > 0).astype(np.float32))
    seen: list[tuple[str, np.ndarray]] = []

    def evaluate(weights):
        seen.extend((cid, weights(cid)) for cid in ids)
        return 0.5, {"resolution": 0.5}

    final, thresholds, summary = pair_training.search(pairs, evaluate, "F1", log=lambda *_: None)
    assert all(w[ids.index(cid)] == 0 and w.sum() >= len(ids) // 2 for cid, w in seen)
    assert final.sum() == len(ids) and thresholds == {"resolution": 0.5} and "held-out F1 0.500" in summary


def test_a_decision_threshold_within_a_tie_of_the_best_is_the_lowest(monkeypatch):
    from types import SimpleNamespace

    from forge_tui.knowledge.pipeline import train

    d = LABELS.index("decision")
    f1_at = {0.45: 0.706, 0.5: 0.704, 0.55: 0.708}  # held-out decisions F1 by the user's threshold

    def fake_scores(convs, make_classifier, thresholds):
        f1 = f1_at.get(thresholds[d], 0.6)
        return SimpleNamespace(decision_precision=f1, decision_recall=f1, question_precision=0.8, question_status=0.8)

    monkeypatch.setattr(train, "state_scores", fake_scores)
    thresholds, _ = train.tune_thresholds(lambda conv, th: None, ["one conversation"], log=lambda *_: None)
    assert thresholds[d] == 0.45  # 0.55 is best by 0.002, a tie; the lowest keeps the most decisions
    f1_at[0.55] = 0.72
    assert train.tune_thresholds(lambda conv, th: None, ["one"], log=lambda *_: None)[0][d] == 0.55
