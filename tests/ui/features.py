"""The session's real feature services (knowledge, archives, search) built the way
``forge_tui.app_factory.build_session`` builds them, but with a keyword-only
search (no MiniLM) so the fast UI tests need no model."""

from __future__ import annotations

from forge_tui.config import Settings
from forge_tui.knowledge.registry import Registry
from forge_tui.search.hybrid import SearchService
from forge_tui.session.archives import ArchiveService
from forge_tui.session.controller import Features
from forge_tui.session.knowledge import KnowledgeService
from forge_tui.session.search import SearchCommands


def wire_features(store, settings: Settings, service: SearchService | None = None) -> Features:
    registry = Registry(store)
    service = service or SearchService(store, None)
    return Features(
        archives=ArchiveService(lambda: store, lambda: registry, settings.archive_token_budget),
        knowledge=KnowledgeService(lambda: registry, settings),
        search=SearchCommands(lambda: store, lambda: service, settings, None, lambda: registry),
    )
