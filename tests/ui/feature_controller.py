"""A SessionController with the feature commands the UI calls, built on the real
backends (knowledge Registry, keyword SearchService) — for UI tests until the
lead's controller grows the same methods. Each emits ``FeatureEvent(kind, payload)``
with the payloads documented in ``forge_tui/ui/screens/features.py`` (``FEATURE_KINDS``)."""

from __future__ import annotations

from forge_tui.knowledge.registry import Registry
from forge_tui.knowledge.view import knowledge_view
from forge_tui.search.hybrid import SearchService
from forge_tui.session import events as ev
from forge_tui.session.controller import SessionController


class FeatureTestController(SessionController):
    def __init__(self, *args, registry_clock=None, **kwargs):
        super().__init__(*args, **kwargs)
        # the base class may hold feature objects in attributes named like its entry points
        # (``self.search = None`` shadows ``search()``): the methods below must win
        for name in ("search",):
            self.__dict__.pop(name, None)
        self.registry: Registry | None = None
        self.search_service: SearchService | None = None
        self.calls: list[tuple] = []
        self._clock = registry_clock

    def _registry(self) -> Registry:
        if self.registry is None:
            store = self._require_store()
            self.registry = Registry(store.db, clock=self._clock) if self._clock else Registry(store.db)
        return self.registry

    def knowledge_payload(self) -> dict:
        reg = self._registry()
        return knowledge_view(reg, self.project, self.settings, reg.clock())

    def refresh_knowledge(self):
        return self._submit(lambda: self.emit(ev.FeatureEvent("knowledge_changed", self.knowledge_payload())))

    def resolve_conflict(self, conflict_id: str, choice: str, project: str | None = None):
        self.calls.append(("resolve_conflict", conflict_id, choice, project))

        def run():
            self._registry().choose(conflict_id, choice, project=project)
            self.emit(ev.FeatureEvent("knowledge_changed", self.knowledge_payload()))

        return self._submit(run)

    def search(self, query: str, project: str | None = None):
        self.calls.append(("search", query))

        def run():
            if self.search_service is None:
                self.search_service = SearchService(self._require_store(), None)
            result = self.search_service.search_with_notes(query, project)
            self.emit(ev.FeatureEvent("search_results", {
                "query": query, "hits": [h.to_dict() for h in result.hits], "notes": result.notes}))

        return self._submit(run)

    def keep_context(self, sources: list[str]):
        self.calls.append(("keep_context", list(sources)))

    def compress(self, mode: str = "default", then_continue: bool = False):
        """Recorded only: the scripted engine cannot write grammar-constrained YAML."""
        self.calls.append(("compress", mode, then_continue))
