"""The audit log: one ``events`` document per registry change (who, what, when, why).

Extraction failures are events too (``what: extraction_failed``, ``retry: pending``),
which is how they are queued for ``Extractor.retry_failed``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.database import Database

from forge_tui.domain.ids import entity_id
from forge_tui.domain.models import utcnow


class EventLog:
    def __init__(self, db: Database):
        self.events = db["events"]

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
        self.events.insert_one(
            {"_id": uid, "project": project, "what": what, "target": target, "who": who, "why": why, "at": when, **details}
        )
        return uid

    def recent(self, project: str | None = None, limit: int = 50, what: str | None = None) -> list[dict[str, Any]]:
        query: dict[str, Any] = {}
        if project is not None:
            query["project"] = project
        if what is not None:
            query["what"] = what
        return list(self.events.find(query).sort("at", DESCENDING).limit(limit))

    def for_target(self, target: str) -> list[dict[str, Any]]:
        return list(self.events.find({"target": target}).sort("at", ASCENDING))
