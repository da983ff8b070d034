"""The composition root's service container: the only place concrete engines,
embedders and stores are built. The CLI and the app receive one ``Services``
and ask it for what they need; everything is created lazily, on first use.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from forge_tui.config import (
    ModelsConfig,
    ModelSpec,
    Paths,
    Settings,
    load_models,
    load_settings,
    resolve_paths,
)

if TYPE_CHECKING:  # pragma: no cover
    from forge_tui.engine.base import KnowledgeEngine
    from forge_tui.search.embedder import Embedder
    from forge_tui.store.repository import Store


@dataclass
class Services:
    paths: Paths
    mongo_uri: str | None = None  # None = the embedded SecantusDB server
    db_name: str = "forge"
    #: where ``mongo_uri`` came from, for error messages ("--mongo-uri", "FORGE_MONGO_URI")
    mongo_uri_source: str = "--mongo-uri"
    _store: Any = None
    _server: Any = None
    _embedder: Any = None
    _registry: Any = None
    _lock: threading.RLock = field(default_factory=threading.RLock)

    @classmethod
    def from_args(cls, data_dir: str | None = None, mongo_uri: str | None = None) -> "Services":
        return cls(
            paths=resolve_paths(data_dir),
            mongo_uri=mongo_uri or os.environ.get("FORGE_MONGO_URI") or None,
            db_name=os.environ.get("FORGE_DB", "forge"),
            mongo_uri_source="--mongo-uri" if mongo_uri else "FORGE_MONGO_URI",
        )

    # -- configuration -------------------------------------------------------
    def models(self) -> ModelsConfig:
        return load_models(self.paths.models_file())

    def settings(self) -> Settings:
        return load_settings(self.paths)

    # -- store ---------------------------------------------------------------
    def uri(self) -> str:
        """The MongoDB URI: the user's, or the embedded server's (started if needed)."""
        if self.mongo_uri:
            return self.mongo_uri
        from forge_tui.store.server import EmbeddedServer

        if self._server is None:
            self._server = EmbeddedServer(self.paths.mongo_dir, self.paths.server_state, self.paths.log_dir)
        return self._server.ensure_running()

    def store(self) -> "Store":
        with self._lock:
            if self._store is None:
                from forge_tui.store.repository import Store

                what = self.mongo_uri_source if self.mongo_uri else "the embedded database"
                store = Store.connect(self.uri(), self.db_name, what=what)
                store.check(what)
                store.ensure_schema()
                self._store = store
            return self._store

    def registry(self):
        """The knowledge-graph registry over the same database (built once)."""
        with self._lock:
            if self._registry is None:
                from forge_tui.knowledge.registry import Registry

                self._registry = Registry(self.store().db)
                self._registry.ensure_schema()
            return self._registry

    # -- inference -----------------------------------------------------------
    def engine(self, model: str | None = None, models: ModelsConfig | None = None) -> "KnowledgeEngine":
        """The engine for ``model`` (default: models.toml's default), by its ``kind``."""
        return self.engine_for((models or self.models()).get(model))

    def engine_for(self, spec: ModelSpec) -> "KnowledgeEngine":
        """The engine for one spec (``kind`` picks the backend); also for a spec not exactly in
        models.toml, e.g. one adapter to evaluate."""
        if spec.kind == "openai":
            from forge_tui.engine.openai_engine import OpenAIEngine

            return OpenAIEngine(spec, embedder=self.embedder())
        if spec.kind == "anthropic":
            from forge_tui.engine.anthropic_engine import AnthropicEngine

            return AnthropicEngine(spec, embedder=self.embedder())
        from forge_tui.engine.llama_engine import LlamaEngine

        return LlamaEngine(spec, cache_dir=self.paths.cache_dir, base_dir=self.paths.models_file().parent,
                           embedder=self.embedder())

    def embedder(self) -> "Embedder":
        with self._lock:
            if self._embedder is None:
                from forge_tui.search.embedder import Embedder

                self._embedder = Embedder(self.models().embedding)
            return self._embedder

    def close(self) -> None:
        if self._store is not None:
            self._store.db.client.close()
            self._store = None
