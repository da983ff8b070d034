"""The ``archives`` collection's queries, mixed into ``Store``: archive documents are shaped by
compression (``archive_document``) and the importers; the store only finds, lists and writes them."""

from __future__ import annotations

import re
from typing import Any

from pymongo import DESCENDING
from pymongo.collection import Collection


class ArchiveDocuments:
    """Archive documents by id, id prefix and project. Needs ``self._archives`` (the collection)."""

    _archives: Collection

    def get_archive(self, archive_id: str) -> dict[str, Any] | None:
        return self._archives.find_one({"_id": archive_id})

    def has_archive(self, archive_id: str) -> bool:
        return self._archives.find_one({"_id": archive_id}, {"_id": 1}) is not None

    def archives_by_prefix(self, prefix: str, limit: int = 2) -> list[dict[str, Any]]:
        """Up to ``limit`` archive documents whose id starts with ``prefix``."""
        return list(self._archives.find({"_id": {"$regex": "^" + re.escape(prefix)}}).limit(limit))

    def archive_ids_by_prefix(self, prefix: str, limit: int = 2) -> list[str]:
        return [d["_id"] for d in self._archives.find({"_id": {"$regex": "^" + re.escape(prefix)}}, {"_id": 1})
                .limit(limit)]

    def archive_summaries(self, query: dict[str, Any], limit: int = 0) -> list[dict[str, Any]]:
        """Archive documents matching ``query`` without their body (``archive``, ``yaml``), newest first."""
        cursor = self._archives.find(query, {"archive": 0, "yaml": 0}).sort("created_at", DESCENDING)
        return list(cursor.limit(limit) if limit else cursor)

    def archive_ids(self, project: str | None = None) -> list[str]:
        query = {} if project is None else {"project": project}
        return [d["_id"] for d in self._archives.find(query, {"_id": 1})]

    def all_archives(self) -> list[dict[str, Any]]:
        return list(self._archives.find({}))

    def save_archive(self, doc: dict[str, Any]) -> None:
        """Write an archive document, replacing one with the same ``_id``."""
        self._archives.replace_one({"_id": doc["_id"]}, doc, upsert=True)

    def add_archive_if_absent(self, archive_id: str, fields: dict[str, Any]) -> None:
        """Store ``fields`` as archive ``archive_id`` unless that archive already exists."""
        self._archives.update_one({"_id": archive_id}, {"$setOnInsert": fields}, upsert=True)

