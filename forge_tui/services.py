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
    _connected_uri: str | None = None
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
                from forge_tui.store.private_files import private_dir
                from forge_tui.store.repository import Store

                private_dir(self.paths.data_dir)  # logs, caches and (embedded) the database live here
                what = self.mongo_uri_source if self.mongo_uri else "the embedded database"
                uri = self.uri()
                store = Store.connect(uri, self.db_name, what=what)
                store.check(what)
                store.ensure_schema()
                self._store, self._connected_uri = store, uri
            return self._store

    def store_link(self) -> "ServicesStoreLink":
        """The session's way to its database (and back, after the embedded server died)."""
        return ServicesStoreLink(self)

    def restart_store(self) -> str:
        """Re-run the embedded server's launcher (its stale-record recovery restarts a dead
        server on the same port, so the connected client finds it again); what Forge did."""
        if self.mongo_uri:
            self.store().ping()
            return "the database at --mongo-uri answers again."
        from forge_tui.store.server import EmbeddedServer

        with self._lock:
            if self._server is None:
                self._server = EmbeddedServer(self.paths.mongo_dir, self.paths.server_state, self.paths.log_dir)
            server = self._server
        was_running = server.server_pid() is not None
        uri = server.ensure_running()
        store = self.store()
        if uri != self._connected_uri:
            from forge_tui.store.errors import StoreUnavailable

            raise StoreUnavailable("The database server restarted on another port; restart Forge to reconnect.")
        store.ping()
        return "the server answers again." if was_running else "Forge restarted the embedded database server."

    def store_alive(self) -> bool:
        """A quick check: the embedded server's process lives (no network); remote: a ping."""
        if self.mongo_uri or self._server is None:
            self.store().ping()
            return True
        return self._server.server_pid() is not None

    def registry(self):
        """The knowledge-graph registry over the same database (built once)."""
        with self._lock:
            if self._registry is None:
                from forge_tui.knowledge.registry import Registry

                self._registry = Registry(self.store())
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

    def close(self, timeout: float = 0.25) -> None:
        """Close the database client; never waits more than ``timeout`` (a dead server would
        hold ``MongoClient.close`` for the whole server-selection timeout)."""
        store, self._store = self._store, None
        if store is not None:
            closer = threading.Thread(target=store.close, name="forge-store-close", daemon=True)
            closer.start()
            closer.join(timeout)


class ServicesStoreLink:
    """``session.store_link.StoreLink`` over ``Services``."""

    def __init__(self, services: Services) -> None:
        self._services = services

    @property
    def embedded(self) -> bool:
        return not self._services.mongo_uri

    def connect(self) -> "Store":
        return self._services.store()

    def alive(self) -> bool:
        return self._services.store_alive()

    def recover(self) -> str:
        return self._services.restart_store()

    def label(self) -> str:
        return "embedded database" if self.embedded else "MongoDB (--mongo-uri)"
