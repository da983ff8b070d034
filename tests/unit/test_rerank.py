"""The search reranker's features and model, on hand-made turns (no benchmark data)."""

from __future__ import annotations

import numpy as np
import pytest

from forge_tui.search.rerank import FEATURES, Candidate, RerankModel, features, fit, packaged_model


def cand(doc_id, content, speaker="Ana", conversation="c1", seq=5, sem=0.0, kw=0.0, fused=0.0, **around):
    return Candidate(doc_id, sem, kw, fused, conversation, seq, speaker, content, **around)


def column(x, name):
    return x[:, FEATURES.index(name)]


def test_features_name_the_speaker_the_time_and_the_questions():
    cands = [
        cand("a", "I signed up for the pottery class last week.", speaker="Ana"),
        cand("b", "Did you sign up for pottery?", speaker="Ben", seq=4),
        cand("c", "Hi!", speaker="Ben", conversation="c2", seq=0),
    ]
    x = features("When did Ana sign up for the pottery class?", cands, {"pottery": 2.0, "class": 1.0, "sign": 1.0})
    assert x.shape == (3, len(FEATURES))
    assert list(column(x, "speaker_named")) == [1.0, 0.0, 0.0]
    assert list(column(x, "other_speaker_named")) == [0.0, 1.0, 1.0]
    assert list(column(x, "is_question")) == [0.0, 1.0, 0.0]
    assert list(column(x, "time_for_when")) == [1.0, 0.0, 0.0]  # "last week" answers a "when"
    assert list(column(x, "opening_turn")) == [0.0, 0.0, 1.0]
    assert list(column(x, "same_conversation_as_top")) == [1.0, 1.0, 0.0]
    overlap = column(x, "own_rare_overlap")
    assert overlap[0] == pytest.approx(1.0) and overlap[2] == 0.0
    # the same "time" words do not count for a question that does not ask when
    y = features("What did Ana sign up for?", cands, {"sign": 1.0})
    assert list(column(y, "time_for_when")) == [0.0, 0.0, 0.0]
    assert list(column(y, "mentions_time")) == [1.0, 0.0, 0.0]


def test_a_speaker_is_named_only_as_a_whole_word_and_roles_never():
    cands = [cand("a", "x y z", speaker="Ana"), cand("b", "x y z", speaker="user")]
    x = features("what did Anastasia and the user say", cands, {})
    assert list(column(x, "speaker_named")) == [0.0, 0.0]
    x = features("what is Ana's plan", cands, {})
    assert list(column(x, "speaker_named")) == [1.0, 0.0]


def test_no_candidates_no_rows():
    assert features("anything", [], {}).shape == (0, len(FEATURES))


def test_fit_learns_a_separable_rule_and_survives_a_save(tmp_path):
    rng = np.random.default_rng(0)
    groups = []
    for _ in range(40):  # 40 queries of 10 candidates; the evidence is the one with the largest rule value
        x = rng.normal(size=(10, len(FEATURES)))
        rule = x[:, 0] + 0.5 * x[:, 3]
        groups.append((x, (rule == rule.max()).astype(float)))
    model = fit(groups, iterations=500)
    top_right = [np.argmax(model.scores(x)) == np.argmax(y) for x, y in groups]
    assert np.mean(top_right) > 0.9
    x = np.vstack([g for g, _ in groups])
    p = model.scores(x)
    assert np.all((p > 0) & (p < 1)) and 0.05 < p.mean() < 0.2  # calibrated: one evidence in ten
    path = tmp_path / "model.npz"
    model.save(path)
    again = RerankModel.load(path)
    assert np.allclose(again.scores(x), model.scores(x))


def test_a_model_for_other_features_is_refused_with_the_fix(tmp_path):
    path = tmp_path / "old.npz"
    np.savez(path, weights=np.zeros(2), bias=np.zeros(1), mean=np.zeros(2), std=np.ones(2),
             features=np.array(["a", "b"]))
    with pytest.raises(ValueError, match="train_reranker.py"):
        RerankModel.load(path)


def test_the_packaged_model_prefers_the_turn_that_carries_the_query_in_the_conversation_it_comes_from():
    model = packaged_model()
    cands = [
        cand("stray", "Sounds good, thanks for the help with the orders.", speaker="user", conversation="c9", seq=3,
             sem=2.0, kw=1.2, fused=2.0),
        cand("answer", "Makes sense: keyset pagination on (created_at, id) for the orders endpoint it is.",
             speaker="assistant", conversation="c1", seq=7, sem=1.8, kw=1.9, fused=1.85, next_keyword_z=1.0),
        cand("before", "ok scrap offset, we move to keyset", speaker="user", conversation="c1", seq=6,
             sem=1.2, kw=1.0, fused=1.1),
        cand("after", "Here is the cursor encoding.", speaker="assistant", conversation="c1", seq=8,
             sem=0.9, kw=0.5, fused=0.8),
    ]
    p = model.scores(features("which pagination did we pick for the orders endpoint", cands,
                              {"pagination": 2.5, "pick": 1.0, "order": 1.2, "endpoint": 1.5}))
    assert p[1] > p[0]
    assert np.all((p > 0) & (p < 1))


def test_context_boost_moves_up_the_conversation_the_best_hits_share_and_the_named_speaker():
    from forge_tui.search.rerank import context_scores

    cands = [cand("top", "the kiln fires at 1200 degrees", speaker="Ben", conversation="c1", fused=2.0),
             cand("stray", "kiln prices went up", speaker="Ben", conversation="c9", fused=1.9),
             *(cand(f"near{i}", "we glazed the bowls", speaker="Ben", conversation="c1", fused=1.0 - i / 10)
               for i in range(5)),
             cand("ana", "I fired my first bowl", speaker="Ana", conversation="c5", fused=0.5)]
    scores = context_scores(features("what did Ana fire in the kiln", cands, {"kiln": 2.0, "fire": 1.0}))
    order = [cands[i].doc_id for i in np.argsort(-scores, kind="stable")]
    assert order.index("near0") < order.index("stray")  # its conversation holds most of the best
    assert order.index("ana") < order.index("stray")  # the query names her
    assert context_scores(np.zeros((0, len(FEATURES)))).shape == (0,)
