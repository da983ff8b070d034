"""The in-process vector index and the BSON vector codec (pure numpy, no database)."""

from __future__ import annotations

import numpy as np
import pytest
from bson.binary import Binary, BinaryVectorDtype

from forge_tui.search.vector_index import VectorIndex
from forge_tui.store.vectors import binary_to_vector, vector_to_binary


def _unit(*values):
    v = np.asarray(values, dtype=np.float32)
    return v / np.linalg.norm(v)


def test_nearest_first_and_growth_past_capacity():
    index = VectorIndex(dim=3, capacity=16)
    rng = np.random.default_rng(0)
    index.add_many([f"n{i}" for i in range(100)], rng.standard_normal((100, 3)), ["p"] * 100)
    index.add("target", _unit(1, 0, 0), "p")
    hits = index.search(np.array([2.0, 0.0, 0.0]), limit=5)
    assert hits[0].doc_id == "target" and hits[0].score == pytest.approx(1.0, abs=1e-6)
    assert len(index) == 101 and [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_project_filter_and_replacement():
    index = VectorIndex(dim=2)
    index.add("a", _unit(1, 0), "one")
    index.add("b", _unit(1, 0.1), "two")
    assert [h.doc_id for h in index.search(_unit(1, 0), project="two")] == ["b"]
    assert index.search(_unit(1, 0), project="three") == []
    index.add("a", _unit(0, 1), "one")  # re-embedded: replaced in place
    assert len(index) == 2 and index.search(_unit(0, 1), limit=1)[0].doc_id == "a"


def test_wrong_dimension_is_refused_not_mixed_in():
    index = VectorIndex(dim=4)
    assert index.add_many(["x"], np.ones((1, 3)), ["p"]) == 0
    assert index.rejected == 1 and len(index) == 0
    with pytest.raises(ValueError, match="3 dimensions, the index 4"):
        index.search(np.ones(3))


def test_binary_vector_round_trip_matches_pymongo():
    v = np.random.default_rng(1).standard_normal(384).astype(np.float32)
    ours = vector_to_binary(v)
    assert ours == Binary.from_vector(v.tolist(), BinaryVectorDtype.FLOAT32) and ours.subtype == 9
    assert np.array_equal(binary_to_vector(ours), v)
    assert binary_to_vector(b"junk") is None and binary_to_vector("text") is None
    assert binary_to_vector([0.5, 1.0]).dtype == np.float32
