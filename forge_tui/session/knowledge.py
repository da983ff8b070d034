"""The knowledge graph for the session: the sidebar's view and the user's choices.

Built by the composition root over the registry; the controller runs it on its
worker. Unknown ids raise ``KnowledgeError`` with a clear message. The hand
corrections (pin, dismiss, edit) are the registry's own (``knowledge.corrections``,
the same ones ``forge decisions add/dismiss/edit`` run), recorded as the user's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from forge_tui.config import Settings
from forge_tui.domain.models import utcnow
from forge_tui.knowledge.records import Decision, Thread
from forge_tui.knowledge.view import knowledge_view
from forge_tui.session import events as ev

if TYPE_CHECKING:  # pragma: no cover
    from forge_tui.knowledge.registry import Registry


class KnowledgeService:
    def __init__(self, registry: Callable[[], "Registry"], settings: Settings):
        self._registry = registry
        self._settings = settings

    def view(self, project: str) -> ev.KnowledgeChanged:
        registry = self._registry()
        off_branch = registry.store.off_branch_turn_ids(project)  # the pane follows each branch on show
        return ev.KnowledgeChanged(project, knowledge_view(registry, project, self._settings, utcnow(), off_branch))

    def choose(self, conflict_id: str, choice: str, project: str) -> str:
        self._registry().choose(conflict_id, choice, project=project)
        return f"Conflict {conflict_id}: {choice.replace('_', ' ')}."

    def revalidate(self, decision_id: str, project: str) -> str:
        self._registry().revalidate(project, decision_id, why="revalidated in the app")
        return f"{decision_id} revalidated."

    def resolve_thread(self, thread_id: str, status: str, project: str) -> str:
        self._registry().resolve_thread(project, thread_id, status=status)
        return f"{thread_id} marked {status.lower()}."

    def pin(self, text: str, kind: str, project: str) -> ev.KnowledgeCorrected:
        item = self._registry().pin(project, kind, text, who="user")
        return ev.KnowledgeCorrected(project, "pinned", item.id, _wording(item))

    def dismiss(self, item_id: str, why: str, project: str) -> ev.KnowledgeCorrected:
        item = self._registry().dismiss(project, item_id, why=why, who="user")
        return ev.KnowledgeCorrected(project, "dismissed", item.id, _wording(item))

    def edit(self, item_id: str, text: str, project: str) -> ev.KnowledgeCorrected:
        item = self._registry().edit(project, item_id, text, who="user")
        return ev.KnowledgeCorrected(project, "edited", item.id, _wording(item))


def _wording(item: "Decision | Thread") -> str:
    return item.text if isinstance(item, Decision) else item.title
