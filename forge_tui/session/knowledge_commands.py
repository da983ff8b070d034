"""The controller's hand corrections of the knowledge graph: pin, dismiss, edit.

Mixed into ``SessionController``. Each runs on the session worker through the
composition root's ``KnowledgeService`` (the registry's own corrections, one
implementation with ``forge decisions add/dismiss/edit``), announces the change
(``KnowledgeCorrected``) and then the project's fresh view (``KnowledgeChanged``),
so the knowledge pane follows. ``project`` defaults to the open conversation's.
"""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any, Callable

from forge_tui.knowledge.errors import KnowledgeError
from forge_tui.session import events as ev
from forge_tui.session.feature_commands import Features
from forge_tui.session.knowledge import KnowledgeService


class KnowledgeCommands:
    """Mixed into ``SessionController`` (which defines what is declared here)."""

    _project: str
    emit: Callable[[ev.Event], None]
    _submit: Callable[..., Future[Any] | None]
    _missing: Callable[[str], None]
    features: Features

    def pin_knowledge(self, text: str, kind: str = "decision", project: str | None = None) -> Future[Any] | None:
        """Record ``text`` by hand as a ``decision``, ``constraint`` or open ``question`` (a thread)."""
        return self._submit(self._correct, project, lambda k, p: k.pin(text, kind, p))

    def dismiss_knowledge(self, item_id: str, why: str = "", project: str | None = None) -> Future[Any] | None:
        """Mark decision ``D###`` or thread ``T###`` dismissed (kept in the registry, with the event)."""
        return self._submit(self._correct, project, lambda k, p: k.dismiss(item_id, why, p))

    def edit_knowledge(self, item_id: str, text: str, project: str | None = None) -> Future[Any] | None:
        """Reword decision ``D###`` or retitle thread ``T###``."""
        return self._submit(self._correct, project, lambda k, p: k.edit(item_id, text, p))

    def _correct(self, project: str | None,
                 act: Callable[[KnowledgeService, str], ev.KnowledgeCorrected]) -> None:
        knowledge = self.features.knowledge
        if knowledge is None:
            self._missing("the knowledge graph")
            return
        target = project or self._project
        try:
            done = act(knowledge, target)
        except KnowledgeError as exc:
            self.emit(ev.Notice(str(exc), "warning"))
            return
        self.emit(done)
        self.emit(knowledge.view(target))
