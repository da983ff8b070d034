"""Scratchpad: short-lived key-value notes (a MongoDB TTL index removes them).

MongoDB's TTL monitor sweeps periodically (every 60 s by default), so an expired
document can still be on disk for a while: every read filters on ``expires_at``
itself and never returns an expired value.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Callable

from forge_tui.domain.ids import entity_id
from forge_tui.domain.models import utcnow
from forge_tui.knowledge.errors import KnowledgeError
from forge_tui.store.repository import Store


_MISSING = object()


class Scratchpad:
    def __init__(self, store: Store, clock: Callable[[], datetime] = utcnow):
        self._docs = store.knowledge
        self.clock = clock

    def set(self, key: str, value: Any, ttl_s: float, *, project: str = "default") -> datetime:
        """Store ``value`` under ``key`` for ``ttl_s`` seconds; returns when it expires."""
        if not isinstance(key, str) or not key.strip():
            raise KnowledgeError("A scratchpad key must be a non-empty string.")
        if not isinstance(ttl_s, (int, float)) or isinstance(ttl_s, bool) or ttl_s <= 0:
            raise KnowledgeError(f"ttl_s must be a positive number of seconds, got {ttl_s!r}.")
        now = self.clock()
        expires = now + timedelta(seconds=float(ttl_s))
        self._docs.scratch_set(project, key, value, expires, now, entity_id(project, "scratch", key))
        return expires

    def get(self, key: str, default: Any = None, *, project: str = "default") -> Any:
        doc = self._docs.scratch_doc(project, key, self.clock())
        return default if doc is None else doc.get("value")

    def has(self, key: str, *, project: str = "default") -> bool:
        return self.get(key, _MISSING, project=project) is not _MISSING

    def delete(self, key: str, *, project: str = "default") -> bool:
        return self._docs.scratch_delete(project, key)

    def items(self, *, project: str = "default") -> dict[str, Any]:
        """Every live key of ``project`` with its value."""
        docs = self._docs.scratch_docs(project, self.clock())
        return {d["key"]: d.get("value") for d in docs}
