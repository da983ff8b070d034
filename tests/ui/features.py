"""Wire the session's real feature actions (knowledge, archives, search) onto a
controller, the way ``forge_tui.app_factory.build_controller`` does, but with a
keyword-only search (no MiniLM) so the fast UI tests need no model."""

from __future__ import annotations

from forge_tui.knowledge.registry import Registry
from forge_tui.search.hybrid import SearchService
from forge_tui.session.archive_actions import ArchiveActions
from forge_tui.session.knowledge_actions import KnowledgeActions
from forge_tui.session.search_actions import SearchActions


def wire_features(controller, store) -> Registry:
    registry = Registry(store.db)
    service = SearchService(store, None)
    controller.knowledge_actions = KnowledgeActions(controller, lambda: registry)
    controller.archive_actions = ArchiveActions(controller, registry_factory=lambda: registry)
    controller.search_actions = SearchActions(controller, lambda: service, embedder=None,
                                              registry_factory=lambda: registry)
    return registry
