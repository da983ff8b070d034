"""Conversations, turns and lineage in MongoDB.

All writes are small, single-document and idempotent where possible, so a crash
at any point leaves a consistent store: a streaming assistant turn is a document
with ``status: streaming`` that the next start-up closes as ``interrupted``.
"""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta
from typing import Any, Iterable

from pymongo import ASCENDING, DESCENDING, MongoClient, UpdateOne
from pymongo.database import Database
from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError, PyMongoError

from forge_tui.domain.models import (
    DEFAULT_PROJECT,
    TRASH_KEEP_DAYS,
    TRASH_PROJECT,
    Conversation,
    Turn,
    TurnStatus,
    utcnow,
)
from forge_tui.store.archives import ArchiveDocuments
from forge_tui.store.branches import BranchDocuments
from forge_tui.store.codec import (
    aware,
    conversation_from_doc,
    conversation_to_doc,
    turn_from_doc,
    turn_to_doc,
)
from forge_tui.store.connection import check_reachable, open_client
from forge_tui.store.import_docs import ImportDocuments
from forge_tui.store.knowledge_docs import KnowledgeDocuments
from forge_tui.store.message_docs import MessageDocuments
from forge_tui.store.schema import ensure_schema
from forge_tui.store.system_prompts import SystemPrompts
from forge_tui.store.server import pid_alive
from forge_tui.store.vectors import VectorStore


class Store(ArchiveDocuments, MessageDocuments, ImportDocuments, SystemPrompts, BranchDocuments):
    """Repository over one MongoDB database: the only door to it. Thread-safe (pymongo clients are).

    Features reach their documents through named methods here and in the repositories the store
    builds on the same database (``knowledge`` for the knowledge graph, ``vectors`` for search's
    embeddings); no code outside ``forge_tui.store`` touches a collection (tests/unit/
    test_store_door.py checks). ``db`` is public for tests and benches that inspect the database.
    """

    def __init__(self, db: Database):
        self.db = db
        self._conversations = db["conversations"]
        self._messages = db["messages"]
        self._lineage_edges = db["lineage"]
        self._archives = db["archives"]
        self._project_settings = db["projects"]
        self.knowledge = KnowledgeDocuments(db)
        self.vectors = VectorStore(db)

    @classmethod
    def connect(cls, uri: str, db_name: str = "forge", timeout_ms: int = 5000, *,
                what: str = "the MongoDB URI") -> "Store":
        """A store on ``uri``; a malformed URI is a ``StoreUnavailable`` naming ``what`` (its source)."""
        return cls(open_client(uri, what=what, timeout_ms=timeout_ms)[db_name])

    def check(self, what: str = "the MongoDB URI") -> None:
        """Contact the server within a couple of seconds; a ``StoreUnavailable`` says what to fix."""
        check_reachable(self.db.client, what=what, database=self.db.name)

    def ping(self) -> None:
        self.db.client.admin.command("ping")

    def close(self) -> None:
        """Close the client (with a dead server this waits out server selection: callers bound it)."""
        self.db.client.close()

    def ensure_schema(self) -> None:
        """Create every collection's indexes (idempotent); the composition root runs it on opening."""
        ensure_schema(self.db)

    # -- conversations -------------------------------------------------------
    def create_conversation(self, conv: Conversation) -> None:
        """Idempotent: a retry after a lost acknowledgement finds the document there and is done."""
        _insert_once(self._conversations, conversation_to_doc(conv))

    def get_conversation(self, conversation_id: str) -> Conversation | None:
        doc = self._conversations.find_one({"_id": conversation_id})
        return conversation_from_doc(doc) if doc else None

    def find_conversations(self, prefix: str) -> list[Conversation]:
        """Conversations whose id starts with ``prefix`` (for short ids on the CLI).
        A blank prefix matches nothing (it would otherwise match every conversation)."""
        if not prefix.strip():
            return []
        docs = self._conversations.find({"_id": {"$regex": "^" + _escape(prefix)}}).limit(5)
        return [conversation_from_doc(d) for d in docs]

    def list_conversations(self, project: str | None = None, limit: int = 0) -> list[Conversation]:
        """Metadata only, newest first. Turns are loaded when a conversation opens.

        Conversations in the trash are left out, except when ``project`` is ``TRASH_PROJECT``
        (then only they are listed)."""
        query: dict[str, Any] = {"trashed_at": None}
        if project == TRASH_PROJECT:
            query = {"trashed_at": {"$ne": None}}
        elif project is not None:
            query["project"] = project
        cursor = self._conversations.find(query).sort("updated_at", DESCENDING)
        if limit:
            cursor = cursor.limit(limit)
        return [conversation_from_doc(d) for d in cursor]

    def projects(self) -> list[str]:
        return sorted(self._conversations.distinct("project"))

    def update_conversation(self, conversation_id: str, **fields: Any) -> None:
        fields.setdefault("updated_at", utcnow())
        self._conversations.update_one({"_id": conversation_id}, {"$set": fields})

    # -- rename and trash ----------------------------------------------------
    def rename_conversation(self, conversation_id: str, title: str) -> Conversation | None:
        """Set the title (stripped; a blank one is a ``ValueError``). ``None`` if there is no such conversation."""
        title = " ".join(title.split())
        if not title:
            raise ValueError("the title is empty; give the conversation a name")
        self._conversations.update_one({"_id": conversation_id}, {"$set": {"title": title}})
        return self.get_conversation(conversation_id)

    def trash_conversation(self, conversation_id: str, now: datetime | None = None) -> Conversation | None:
        """Move a conversation to the trash: it shows under ``TRASH_PROJECT``, keeps its turns and
        remembers its project (``trashed_from``) for ``restore_conversation``. Trashing twice keeps
        the first date. ``None`` if there is no such conversation."""
        conv = self.get_conversation(conversation_id)
        if conv is None or conv.in_trash:
            return conv
        self._conversations.update_one(
            {"_id": conversation_id, "trashed_at": None},
            {"$set": {"project": TRASH_PROJECT, "trashed_from": conv.project, "trashed_at": now or utcnow()}},
        )
        return self.get_conversation(conversation_id)

    def restore_conversation(self, conversation_id: str) -> Conversation | None:
        """Bring a conversation back from the trash into its former project (a no-op if it is not trashed)."""
        conv = self.get_conversation(conversation_id)
        if conv is None or not conv.in_trash:
            return conv
        project = conv.trashed_from or DEFAULT_PROJECT
        self._conversations.update_one(
            {"_id": conversation_id},
            {"$set": {"project": project}, "$unset": {"trashed_at": "", "trashed_from": ""}},
        )
        return self.get_conversation(conversation_id)

    def trashed_message_ids(self) -> set[str]:
        """Ids of every turn of a trashed conversation (search and retrieval leave them out)."""
        conv_ids = [d["_id"] for d in self._conversations.find({"trashed_at": {"$ne": None}}, {"_id": 1})]
        if not conv_ids:
            return set()
        return {d["_id"] for d in self._messages.find({"conversation_id": {"$in": conv_ids}}, {"_id": 1})}

    def purge_trash(self, keep_days: int = TRASH_KEEP_DAYS, now: datetime | None = None) -> list[Conversation]:
        """Delete for good the conversations trashed more than ``keep_days`` ago (never younger ones).

        Their stored vectors and turns go first and the conversation document last, so an
        interrupted purge leaves the conversation in the trash and the next purge finishes it.
        Returns what was deleted.
        """
        cutoff = (now or utcnow()) - timedelta(days=keep_days)
        old = [conversation_from_doc(d) for d in self._conversations.find({"trashed_at": {"$lt": cutoff}})]
        for conv in old:
            ids = [d["_id"] for d in self._messages.find({"conversation_id": conv.id}, {"_id": 1})]
            if ids:
                self.vectors.delete_for_messages(ids)
            self._messages.delete_many({"conversation_id": conv.id})
            self._conversations.delete_one({"_id": conv.id, "trashed_at": {"$lt": cutoff}})
        return old

    # -- turns ---------------------------------------------------------------
    def insert_turn(self, turn: Turn, project: str | None = None) -> None:
        """Write a new turn and bump its conversation's counters.

        A turn that names its parent (``parent_id``) becomes the head of the branch on show,
        and the conversation's ``turn_count`` that branch's length (see ``store.branches``)."""
        doc = turn_to_doc(turn, project)
        if turn.status is TurnStatus.STREAMING:
            doc["owner"] = {"host": socket.gethostname(), "pid": os.getpid()}
        depth = self._depth_after(turn)
        if depth is not None:
            doc["depth"] = depth
        _insert_once(self._messages, doc)
        if depth is None:
            update: dict[str, Any] = {"$set": {"updated_at": turn.updated_at}, "$max": {"turn_count": turn.seq + 1}}
        else:
            update = {"$set": {"updated_at": turn.updated_at, "head": turn.id, "turn_count": depth + 1}}
        self._conversations.update_one({"_id": turn.conversation_id}, update)

    def update_turn(self, turn_id: str, **fields: Any) -> None:
        """Update a streaming turn in place (content, status, tokens, error)."""
        doc: dict[str, Any] = {}
        for key, value in fields.items():
            doc[key] = value.value if isinstance(value, TurnStatus) else value
        doc.setdefault("updated_at", utcnow())
        self._messages.update_one({"_id": turn_id}, {"$set": doc})

    def get_turn(self, turn_id: str) -> Turn | None:
        doc = self._messages.find_one({"_id": turn_id})
        return turn_from_doc(doc) if doc else None

    def turns(self, conversation_id: str) -> list[Turn]:
        cursor = self._messages.find({"conversation_id": conversation_id}).sort("seq", ASCENDING)
        return [turn_from_doc(d) for d in cursor]

    def next_seq(self, conversation_id: str) -> int:
        last = self._messages.find_one(
            {"conversation_id": conversation_id}, sort=[("seq", DESCENDING)], projection={"seq": 1}
        )
        return 0 if last is None else last["seq"] + 1

    def close_interrupted(self) -> int:
        """Close turns left ``streaming`` by a process that died as ``interrupted``.

        A streaming turn records its writer (``owner``: host and pid); turns whose
        writer is still alive on this host belong to another running Forge and are
        left alone.
        """
        host = socket.gethostname()
        dead = []
        for doc in self._messages.find({"status": TurnStatus.STREAMING.value}, {"owner": 1}):
            owner = doc.get("owner") or {}
            if owner.get("host") == host and owner.get("pid") and pid_alive(owner["pid"]):
                continue
            dead.append(doc["_id"])
        if not dead:
            return 0
        result = self._messages.update_many(
            {"_id": {"$in": dead}, "status": TurnStatus.STREAMING.value},
            {"$set": {"status": TurnStatus.INTERRUPTED.value, "updated_at": utcnow()}},
        )
        return result.modified_count

    def write_conversation_whole(self, conv: Conversation, turns: Iterable[Turn]) -> dict[str, int]:
        """Upsert a conversation and all its turns together (used by importers).

        Turns go in first, the conversation document last: a conversation is only
        listed once every turn is in, so an interrupted import never shows a
        half-written conversation. Re-running with the same IDs changes nothing
        unless the content changed.
        """
        turns = list(turns)
        ops = []
        for t in turns:
            doc = turn_to_doc(t, conv.project)
            doc_id = doc.pop("_id")
            ops.append(UpdateOne({"_id": doc_id}, {"$set": doc}, upsert=True))
        inserted = modified = 0
        if ops:
            res = self._messages.bulk_write(ops, ordered=True)
            inserted, modified = res.upserted_count, res.modified_count
        conv.turn_count = len(turns)
        cdoc = conversation_to_doc(conv)
        cid = cdoc.pop("_id")
        cres = self._conversations.update_one({"_id": cid}, {"$set": cdoc}, upsert=True)
        return {
            "turns_inserted": inserted,
            "turns_modified": modified,
            "conversation_new": int(cres.upserted_id is not None),
            "conversation_modified": cres.modified_count,
        }

    def has_conversation(self, conversation_id: str) -> bool:
        return self._conversations.find_one({"_id": conversation_id}, {"_id": 1}) is not None

    def conversation_ids_by_prefix(self, prefix: str, limit: int = 2) -> list[str]:
        """Ids of up to ``limit`` conversations starting with ``prefix`` (caller rejects a blank one)."""
        return [d["_id"] for d in self._conversations.find({"_id": {"$regex": "^" + _escape(prefix)}}, {"_id": 1})
                .limit(limit)]

    # -- lineage -------------------------------------------------------------
    def add_edge(self, src: str, dst: str, kind: str, **meta: Any) -> None:
        self._lineage_edges.update_one(
            {"src": src, "dst": dst, "kind": kind},
            {"$setOnInsert": {"created_at": utcnow(), **meta}},
            upsert=True,
        )

    def edges(self, node: str) -> list[dict[str, Any]]:
        return list(self._lineage_edges.find({"$or": [{"src": node}, {"dst": node}]}))

    def edges_from(self, node: str, kind: str | None = None) -> list[dict[str, Any]]:
        q: dict[str, Any] = {"src": node}
        if kind:
            q["kind"] = kind
        return list(self._lineage_edges.find(q))

    def edges_to(self, node: str, kind: str | None = None) -> list[dict[str, Any]]:
        q: dict[str, Any] = {"dst": node}
        if kind:
            q["kind"] = kind
        return list(self._lineage_edges.find(q))

    def edges_of_kind(self, kind: str) -> list[dict[str, Any]]:
        """Every ``kind`` edge, ordered by (src, dst)."""
        return list(self._lineage_edges.find({"kind": kind}).sort([("src", ASCENDING), ("dst", ASCENDING)]))


def _insert_once(collection: Collection, doc: dict[str, Any]) -> None:
    """Insert ``doc``; if a document with its ``_id`` is already there (the server took the write but
    died before answering, and the writer retried) that is success, not a duplicate. Any other clash
    (another turn at the same position) is raised."""
    try:
        collection.insert_one(doc)
    except DuplicateKeyError:
        if collection.find_one({"_id": doc["_id"]}, {"_id": 1}) is None:
            raise


def _escape(text: str) -> str:
    import re

    return re.escape(text)


__all__ = ["Store", "PyMongoError", "aware", "datetime"]
