"""Collections and their indexes: the one place the MongoDB schema is declared.

Every collection any layer writes (the conversation store, archives and lineage, the
embeddings of search, the knowledge graph, the importers' mention index) is listed here,
and ``ensure_schema`` creates all of it in one pass. The composition root runs it once
(through ``Store.ensure_schema``) when it opens the database; nothing registers indexes
when a module is imported, so what exists never depends on which modules were loaded.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Iterable, Mapping

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.database import Database

_SCHEMA: dict[str, tuple[IndexModel, ...]] = {
    # -- conversations and turns (store) --------------------------------------
    "conversations": (
        IndexModel([("project", ASCENDING), ("updated_at", DESCENDING)]),
        IndexModel([("updated_at", DESCENDING)]),
    ),
    "messages": (
        IndexModel([("conversation_id", ASCENDING), ("seq", ASCENDING)], unique=True),
        IndexModel([("status", ASCENDING)]),
        IndexModel([("project", ASCENDING), ("created_at", DESCENDING)]),
        IndexModel([("embedding_pending", ASCENDING)]),
        # the embedding pipeline and keyword index follow new and finished turns by updated_at
        IndexModel([("updated_at", ASCENDING)]),
        # turns a regenerated reply or an edited message left off the branch on show (store/branches.py)
        IndexModel([("off_branch", ASCENDING), ("project", ASCENDING)]),
    ),
    # per-project settings kept in the database (the project's default system prompt), one document
    # per project name (``_id``)
    "projects": (IndexModel([("updated_at", DESCENDING)]),),
    # -- archives and their lineage (compression, importers) ------------------
    "lineage": (
        IndexModel([("src", ASCENDING), ("kind", ASCENDING)]),
        IndexModel([("dst", ASCENDING), ("kind", ASCENDING)]),
        IndexModel([("src", ASCENDING), ("dst", ASCENDING), ("kind", ASCENDING)], unique=True),
    ),
    "archives": (
        IndexModel([("project", ASCENDING), ("created_at", DESCENDING)]),
        IndexModel([("source_conversations", ASCENDING)]),
    ),
    "archive_mentions": (
        IndexModel([("key", ASCENDING)]),
        IndexModel([("conversation_id", ASCENDING)]),
    ),
    # -- search ----------------------------------------------------------------
    "embeddings": (
        IndexModel([("model", ASCENDING), ("embedded_at", ASCENDING)]),
        IndexModel([("message_id", ASCENDING)]),
        IndexModel([("model", ASCENDING), ("project", ASCENDING)]),
    ),
    # -- knowledge graph -------------------------------------------------------
    "decisions": (
        IndexModel([("project", ASCENDING), ("id", ASCENDING)], unique=True),
        IndexModel([("project", ASCENDING), ("status", ASCENDING)]),
        IndexModel([("status", ASCENDING), ("subject", ASCENDING)]),
        IndexModel([("status", ASCENDING), ("key", ASCENDING)]),
        IndexModel([("sources", ASCENDING)]),
    ),
    "threads": (
        IndexModel([("project", ASCENDING), ("id", ASCENDING)], unique=True),
        IndexModel([("project", ASCENDING), ("status", ASCENDING)]),
        IndexModel([("sources", ASCENDING)]),
    ),
    "conflicts": (
        IndexModel([("project", ASCENDING), ("id", ASCENDING)], unique=True),
        IndexModel([("status", ASCENDING), ("project", ASCENDING)]),
        IndexModel([("existing_project", ASCENDING), ("status", ASCENDING)]),
    ),
    "events": (
        IndexModel([("project", ASCENDING), ("at", DESCENDING)]),
        IndexModel([("target", ASCENDING), ("at", DESCENDING)]),
        IndexModel([("what", ASCENDING), ("retry", ASCENDING)]),
    ),
    "patterns": (
        IndexModel([("project", ASCENDING), ("fingerprint", ASCENDING)], unique=True),
        IndexModel([("project", ASCENDING), ("id", ASCENDING)], unique=True),
        IndexModel([("project", ASCENDING), ("confidence", DESCENDING)]),
    ),
    "scratchpad": (
        IndexModel([("expires_at", ASCENDING)], expireAfterSeconds=0),
        IndexModel([("project", ASCENDING), ("key", ASCENDING)], unique=True),
    ),
    "corrections": (IndexModel([("project", ASCENDING), ("at", ASCENDING)]),),
}

#: Read-only view of the schema: collection name → its indexes.
SCHEMA: Mapping[str, tuple[IndexModel, ...]] = MappingProxyType(_SCHEMA)


def ensure_schema(db: Database, collections: Iterable[str] | None = None) -> None:
    """Create the indexes of ``collections`` (default: every collection) in ``db``; idempotent.

    An unknown collection name is a ``KeyError``: a collection without a declared schema is a
    bug to fix here, not something to skip quietly."""
    for name in SCHEMA if collections is None else collections:
        db[name].create_indexes(list(SCHEMA[name]))
