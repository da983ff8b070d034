"""The knowledge graph as commands on the session (issue 4).

Events (``FeatureEvent.kind``): ``knowledge_changed`` with the whole sidebar view
(``forge_tui.knowledge.view.knowledge_view``) — the UI coalesces bursts — and
errors as ``Notice``. Unknown ids come back as a clear message, never a traceback.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from forge_tui.domain.models import utcnow
from forge_tui.knowledge.errors import KnowledgeError
from forge_tui.knowledge.view import knowledge_view
from forge_tui.session import events as ev

if TYPE_CHECKING:  # pragma: no cover
    from forge_tui.knowledge.registry import Registry
    from forge_tui.session.controller import SessionController


class KnowledgeActions:
    def __init__(self, controller: "SessionController", registry_factory: Callable[[], "Registry"]):
        self.c = controller
        self._registry_factory = registry_factory

    @property
    def registry(self) -> "Registry":
        return self._registry_factory()

    def view_event(self, project: str | None = None) -> ev.FeatureEvent:
        project = project or self.c.project
        return ev.FeatureEvent("knowledge_changed", knowledge_view(self.registry, project, self.c.settings, utcnow()))

    def refresh(self):
        return self.c.submit(lambda: self.c.emit(self.view_event()))

    def _act(self, fn, done: str):
        def run():
            try:
                fn()
            except KnowledgeError as exc:
                self.c.emit(ev.Notice(str(exc), "error"))
                return
            self.c.emit(ev.Notice(done))
            self.c.emit(self.view_event())

        return self.c.submit(run)

    def choose(self, conflict_id: str, choice: str, project: str | None = None):
        return self._act(lambda: self.registry.choose(conflict_id, choice, project=project or self.c.project),
                         f"Conflict {conflict_id}: {choice.replace('_', ' ')}.")

    def revalidate(self, decision_id: str, project: str | None = None):
        return self._act(lambda: self.registry.revalidate(project or self.c.project, decision_id,
                                                          why="revalidated in the app"),
                         f"{decision_id} revalidated.")

    def resolve_thread(self, thread_id: str, status: str = "RESOLVED", project: str | None = None):
        return self._act(lambda: self.registry.resolve_thread(project or self.c.project, thread_id, status=status),
                         f"{thread_id} marked {status.lower()}.")
