"""Collections and their indexes: the one place the MongoDB schema is declared.

Other layers (knowledge registry, search, archives) add their collections here so
``ensure_indexes`` creates everything in one pass at start-up.
"""

from __future__ import annotations

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.database import Database

INDEXES: dict[str, list[IndexModel]] = {
    "conversations": [
        IndexModel([("project", ASCENDING), ("updated_at", DESCENDING)]),
        IndexModel([("updated_at", DESCENDING)]),
    ],
    "messages": [
        IndexModel([("conversation_id", ASCENDING), ("seq", ASCENDING)], unique=True),
        IndexModel([("status", ASCENDING)]),
        IndexModel([("project", ASCENDING), ("created_at", DESCENDING)]),
        IndexModel([("embedding_pending", ASCENDING)]),
    ],
    "lineage": [
        IndexModel([("src", ASCENDING), ("kind", ASCENDING)]),
        IndexModel([("dst", ASCENDING), ("kind", ASCENDING)]),
        IndexModel([("src", ASCENDING), ("dst", ASCENDING), ("kind", ASCENDING)], unique=True),
    ],
    "archives": [
        IndexModel([("project", ASCENDING), ("created_at", DESCENDING)]),
        IndexModel([("source_conversations", ASCENDING)]),
    ],
}


def register_indexes(collection: str, indexes: list[IndexModel]) -> None:
    """Let a feature module declare its own collection's indexes."""
    INDEXES.setdefault(collection, []).extend(indexes)


def ensure_indexes(db: Database) -> None:
    for name, models in INDEXES.items():
        if models:
            db[name].create_indexes(models)
