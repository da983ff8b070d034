"""The audit log: one ``events`` document per registry change (who, what, when, why).

Extraction failures are events too (``what: extraction_failed``, ``retry: pending``),
which is how they are queued for ``Extractor.retry_failed``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from forge_tui.domain.ids import entity_id
from forge_tui.domain.models import utcnow
from forge_tui.store.knowledge_docs import KnowledgeDocuments


class EventLog:
    def __init__(self, docs: KnowledgeDocuments):
        self._docs = docs

    def log(
        self,
        project: str,
        what: str,
        target: str | None,
        *,
        who: str = "system",
        why: str = "",
        at: datetime | None = None,
        **details: Any,
    ) -> str:
        when = at or utcnow()
        uid = entity_id(project, "event", uuid.uuid4().hex, when)
        self._docs.insert_event(
            {"_id": uid, "project": project, "what": what, "target": target, "who": who, "why": why, "at": when, **details}
        )
        return uid

    def recent(self, project: str | None = None, limit: int = 50, what: str | None = None) -> list[dict[str, Any]]:
        return self._docs.event_docs(project, limit, what)

    def for_target(self, target: str) -> list[dict[str, Any]]:
        return self._docs.event_docs_for(target)

    def pending_retries(self, what: str, limit: int) -> list[dict[str, Any]]:
        """Events ``what`` still waiting for a retry (``retry: pending``), oldest first."""
        return self._docs.pending_retries(what, limit)

    def update(self, uid: str, **fields: Any) -> None:
        """Record how a queued event went (``retry``, ``attempts``, ``why``…)."""
        self._docs.set_event(uid, **fields)
