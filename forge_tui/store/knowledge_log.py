"""The knowledge graph's side collections, mixed into ``KnowledgeDocuments``: the audit log
(``events``, which also queues extraction retries), code patterns and the scratchpad."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Sequence

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError


class KnowledgeLog:
    """Needs ``self._events``, ``self._patterns`` and ``self._scratchpad``."""

    _events: Collection
    _patterns: Collection
    _scratchpad: Collection

    # -- the audit log ----------------------------------------------------------------------
    def insert_event(self, doc: dict[str, Any]) -> None:
        self._events.insert_one(doc)

    def event_docs(self, project: str | None = None, limit: int = 50, what: str | None = None) -> list[dict[str, Any]]:
        """The newest events first."""
        query: dict[str, Any] = {}
        if project is not None:
            query["project"] = project
        if what is not None:
            query["what"] = what
        return list(self._events.find(query).sort("at", DESCENDING).limit(limit))

    def event_docs_for(self, target: str) -> list[dict[str, Any]]:
        """What happened to ``target`` (an id), oldest first."""
        return list(self._events.find({"target": target}).sort("at", ASCENDING))

    def pending_retries(self, what: str, limit: int) -> list[dict[str, Any]]:
        """Events ``what`` whose ``retry`` is still ``pending``, oldest first."""
        return list(self._events.find({"what": what, "retry": "pending"}).sort("at", ASCENDING).limit(limit))

    def set_event(self, uid: str, **fields: Any) -> None:
        self._events.update_one({"_id": uid}, {"$set": fields})

    # -- code patterns ----------------------------------------------------------------------
    def insert_pattern(self, doc: dict[str, Any]) -> bool:
        """Insert a new pattern; False if one with its fingerprint (or id) exists already."""
        try:
            self._patterns.insert_one(doc)
        except DuplicateKeyError:
            return False
        return True

    def pattern_confidence(self, project: str, fingerprint: str) -> tuple[str, float] | None:
        """(``_id``, confidence) of the pattern with this fingerprint, if there is one."""
        doc = self._patterns.find_one({"project": project, "fingerprint": fingerprint}, {"confidence": 1})
        return None if doc is None else (doc["_id"], float(doc["confidence"]))

    def absorb_into_pattern(self, uid: str, confidence: float, sources: Sequence[str],
                            at: datetime) -> dict[str, Any] | None:
        """One more occurrence: raise the confidence to at least ``confidence``, add the sources."""
        return self._patterns.find_one_and_update(
            {"_id": uid},
            {
                "$inc": {"occurrences": 1},
                "$max": {"confidence": confidence},
                "$addToSet": {"sources": {"$each": list(sources)}},
                "$set": {"updated_at": at},
            },
            return_document=ReturnDocument.AFTER,
        )  # fmt: skip

    def count_pattern_use(self, project: str, pid: str, at: datetime) -> dict[str, Any] | None:
        """One more retrieval of pattern ``pid``; the updated document or None if it does not exist."""
        return self._patterns.find_one_and_update(
            {"project": project, "id": pid},
            {"$inc": {"retrieval_count": 1}, "$set": {"last_used_at": at}},
            return_document=ReturnDocument.AFTER,
        )

    def pattern_doc(self, project: str, pid: str) -> dict[str, Any] | None:
        return self._patterns.find_one({"project": project, "id": pid})

    def pattern_docs(self, project: str, limit: int = 0) -> list[dict[str, Any]]:
        """Best first: confidence, then how often they were used, then id."""
        cursor = self._patterns.find({"project": project}).sort(
            [("confidence", DESCENDING), ("retrieval_count", DESCENDING), ("id", ASCENDING)]
        )
        return list(cursor.limit(limit) if limit else cursor)

    # -- scratchpad -------------------------------------------------------------------------
    def scratch_set(self, project: str, key: str, value: Any, expires_at: datetime, now: datetime,
                    uid: str) -> None:
        self._scratchpad.update_one(
            {"project": project, "key": key},
            {"$set": {"value": value, "expires_at": expires_at, "updated_at": now}, "$setOnInsert": {"_id": uid}},
            upsert=True,
        )

    def scratch_doc(self, project: str, key: str, now: datetime) -> dict[str, Any] | None:
        """The note unless it expired before ``now`` (the TTL monitor may not have swept it yet)."""
        return self._scratchpad.find_one({"project": project, "key": key, "expires_at": {"$gt": now}})

    def scratch_delete(self, project: str, key: str) -> bool:
        return self._scratchpad.delete_one({"project": project, "key": key}).deleted_count == 1

    def scratch_docs(self, project: str, now: datetime) -> list[dict[str, Any]]:
        """Live notes of ``project`` by key."""
        return list(self._scratchpad.find({"project": project, "expires_at": {"$gt": now}}).sort("key", ASCENDING))
