"""What the importers write besides whole conversations, mixed into ``Store``: bulk inserts of new
conversations, the index of archive mentions (which turns quote which archive), the map of legacy
Forge OS records already imported, and raw copies of legacy knowledge."""

from __future__ import annotations

from typing import Any, Iterable

from pymongo import ASCENDING, UpdateOne
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import BulkWriteError

#: archive key -> the turns that mention it (the importers' lineage pass)
MENTIONS = "archive_mentions"
#: legacy ``kind:_id`` -> the registry record it became
LEGACY_MAP = "legacy_map"


class ImportDocuments:
    """Needs ``self.db``, ``self._messages`` and ``self._conversations``."""

    db: Database
    _messages: Collection
    _conversations: Collection

    # -- bulk inserts of new conversations ------------------------------------------------
    def insert_message_docs(self, docs: list[dict[str, Any]]) -> list[int]:
        """Insert turn documents (unordered); returns the positions the database refused
        (an ``_id`` or ``(conversation_id, seq)`` already there), every other one is in."""
        return _insert_many(self._messages, docs)

    def insert_conversation_docs(self, docs: list[dict[str, Any]]) -> list[int]:
        """Insert conversation documents (unordered); returns the positions refused."""
        return _insert_many(self._conversations, docs)

    # -- archive mentions -------------------------------------------------------------------
    def record_mentions(self, mentions: Iterable[dict[str, Any]]) -> None:
        """Upsert mention documents (``key``, ``turn_id``, ``conversation_id``, ``seq``, ``role``…)."""
        ops = [UpdateOne({"_id": f"{m['key']}|{m['turn_id']}"}, {"$set": dict(m)}, upsert=True) for m in mentions]
        if ops:
            self.db[MENTIONS].bulk_write(ops, ordered=False)

    def mentions_of(self, key: str) -> list[dict[str, Any]]:
        """Every mention of archive ``key``, oldest first (then by position in the conversation)."""
        return list(self.db[MENTIONS].find({"key": key}).sort([("created_at", ASCENDING), ("seq", ASCENDING)]))

    def set_archive_context_if_unset(self, conversation_id: str, key: str) -> None:
        """Record that the conversation continues archive ``key`` unless it already names one."""
        self._conversations.update_one({"_id": conversation_id, "archive_context": None},
                                       {"$set": {"archive_context": key}})

    # -- legacy Forge OS knowledge ----------------------------------------------------------
    def legacy_imported(self, key: str) -> bool:
        return self.db[LEGACY_MAP].find_one({"_id": key}, {"_id": 1}) is not None

    def remember_legacy(self, key: str, fields: dict[str, Any]) -> None:
        """Note that legacy record ``key`` was imported (``fields``: project, id, legacy_id, created_at)."""
        self.db[LEGACY_MAP].insert_one({"_id": key, **fields})

    def copy_legacy_doc(self, kind: str, doc: dict[str, Any]) -> bool:
        """Keep a legacy ``decisions``/``threads`` document as it is in ``legacy_<kind>``; True if it changed."""
        res = self.db[f"legacy_{kind}"].replace_one({"_id": doc["_id"]}, doc, upsert=True)
        return res.upserted_id is not None or res.modified_count > 0


def _insert_many(collection: Collection, docs: list[dict[str, Any]]) -> list[int]:
    if not docs:
        return []
    try:
        collection.insert_many(docs, ordered=False)
    except BulkWriteError as exc:
        return [int(e["index"]) for e in exc.details.get("writeErrors", [])]
    return []
