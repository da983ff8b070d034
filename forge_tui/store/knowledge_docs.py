"""The knowledge graph's documents: decisions, conflicts, threads, id counters and hand corrections.

``knowledge.registry`` decides *what* to write (the conflict policy, ids, events); this repository
is *how* it is read and written, so every query on these collections lives in the store. The
documents' shape is ``knowledge.records``' (``Decision.to_doc``/``from_doc``…). The ``Store``
builds one (``store.knowledge``); the audit log, patterns and scratchpad are in ``knowledge_log``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable, Iterator, Sequence

from pymongo import ASCENDING, ReturnDocument
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from forge_tui.store.knowledge_log import KnowledgeLog

BY_PROJECT_AND_ID = [("project", ASCENDING), ("id", ASCENDING)]


def _project(project: str | None) -> dict[str, Any]:
    return {} if project is None else {"project": project}


class KnowledgeDocuments(KnowledgeLog):
    def __init__(self, db: Database):
        self._decisions = db["decisions"]
        self._conflicts = db["conflicts"]
        self._threads = db["threads"]
        self._counters = db["counters"]
        self._corrections = db["corrections"]
        self._events = db["events"]
        self._patterns = db["patterns"]
        self._scratchpad = db["scratchpad"]

    # -- id counters ----------------------------------------------------------------------
    def ensure_counter(self, key: str) -> None:
        """Create counter ``key`` at 0 if missing (a writer that created it first is just as good)."""
        try:
            self._counters.update_one({"_id": key}, {"$setOnInsert": {"seq": 0}}, upsert=True)
        except DuplicateKeyError:
            pass  # another writer created it first: exactly what we wanted

    def advance_counter(self, key: str) -> int | None:
        """Increment counter ``key`` atomically; its new value, or None if it does not exist."""
        doc = self._counters.find_one_and_update({"_id": key}, {"$inc": {"seq": 1}}, return_document=ReturnDocument.AFTER)
        return None if doc is None else int(doc["seq"])

    # -- decisions --------------------------------------------------------------------------
    def decision_doc(self, project: str, did: str) -> dict[str, Any] | None:
        return self._decisions.find_one({"project": project, "id": did})

    def decision_docs(self, project: str | None = None, *, active_only: bool = True,
                      with_embedding: bool = True) -> list[dict[str, Any]]:
        """Decisions (and constraints) ordered by project then id; ``active_only`` leaves out
        superseded, rejected and dismissed ones."""
        query = {**_project(project), **({"status": "active"} if active_only else {})}
        fields = None if with_embedding else {"embedding": 0}
        return list(self._decisions.find(query, fields).sort(BY_PROJECT_AND_ID))

    def overlapping_decision_docs(self, project: str, statement: str, *, key: str = "", subject: str = "",
                                  artifacts: Sequence[str] = (), embedded: bool = False) -> list[dict[str, Any]]:
        """Active decisions (not constraints) that might clash with a new one, oldest first: same
        key, subject or artifact in any project; in ``project``, the same statement or (when the new
        one has an embedding) any decision with an embedding."""
        ors: list[dict[str, Any]] = []
        if key:
            ors.append({"key": key})
        if subject:
            ors.append({"subject": subject})
        if artifacts:
            ors.append({"artifacts": {"$in": list(artifacts)}})
        if embedded:
            ors.append({"project": project, "embedding": {"$ne": None}})
        ors.append({"project": project, "statement": statement})
        query = {"status": "active", "kind": {"$ne": "constraint"}, "$or": ors}
        return list(self._decisions.find(query).sort("created_at", ASCENDING))

    def insert_decision(self, doc: dict[str, Any]) -> None:
        self._decisions.insert_one(doc)

    def set_decision(self, uid: str, **fields: Any) -> None:
        self._decisions.update_one({"_id": uid}, {"$set": fields})

    def merge_into_decision(self, uid: str, sources: Iterable[str], tier: float,
                            validated_at: datetime | None) -> None:
        """A restatement: add its sources, count it, keep the higher tier; ``validated_at`` resets decay."""
        update: dict[str, Any] = {
            "$addToSet": {"sources": {"$each": list(sources)}},
            "$inc": {"restatements": 1},
            "$max": {"tier": tier},
        }
        if validated_at is not None:
            update["$set"] = {"last_validated": validated_at, "hops": 0}
        self._decisions.update_one({"_id": uid}, update)

    def mark_superseded(self, old_uid: str, old_id: str, new_uid: str, new_id: str) -> None:
        """``old`` is superseded by ``new``; both remember the clash."""
        self._decisions.update_one(
            {"_id": old_uid},
            {"$set": {"status": "superseded", "superseded_by": new_id}, "$addToSet": {"conflicts_with": new_id}},
        )
        self._decisions.update_one({"_id": new_uid}, {"$addToSet": {"supersedes": old_id, "conflicts_with": old_id}})

    def add_decision_conflict(self, uid: str, ref: str) -> None:
        self._decisions.update_one({"_id": uid}, {"$addToSet": {"conflicts_with": ref}})

    def add_decision_hops(self, project: str, did: str, n: int, carried_into: str | None) -> dict[str, Any] | None:
        """Add ``n`` hops to an active decision (once per ``carried_into`` conversation when given);
        the updated document, or None when it is not active or was already carried there."""
        query: dict[str, Any] = {"project": project, "id": did, "status": "active"}
        update: dict[str, Any] = {"$inc": {"hops": n}}
        if carried_into is not None:
            query["carried_into"] = {"$ne": carried_into}
            update["$addToSet"] = {"carried_into": carried_into}
        return self._decisions.find_one_and_update(query, update, return_document=ReturnDocument.AFTER)

    def sentences_citing(self, project: str, source: str) -> set[str]:
        """Statements, questions and resolutions recorded from turn ``source`` (as written)."""
        said = {d.get("statement", "") for d in self._decisions.find(
            {"project": project, "sources": source}, {"statement": 1})}
        said |= {t.get("question", "") for t in self._threads.find(
            {"project": project, "sources": source}, {"question": 1})}
        said |= {t.get("resolution", "") for t in self._threads.find(
            {"project": project, "resolution_sources": source}, {"resolution": 1})}
        return {s for s in said if s}

    def drafts_from(self, project: str, source: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Active decisions and open, not dismissed threads whose only source is turn ``source``
        (what extraction recorded from that turn alone), without embeddings."""
        only = {"project": project, "sources": [source], "pinned": {"$ne": True}}
        decisions = list(self._decisions.find({**only, "status": "active"}, {"embedding": 0}))
        threads = list(self._threads.find({**only, "status": "OPEN", "dismissed": {"$ne": True}}))
        return decisions, threads

    # -- conflicts --------------------------------------------------------------------------
    def open_conflict_docs(self, statuses: Sequence[str], project: str | None = None) -> list[dict[str, Any]]:
        """Conflicts in ``statuses`` raised in ``project`` or against one of its decisions."""
        query: dict[str, Any] = {"status": {"$in": list(statuses)}}
        if project is not None:
            query["$or"] = [{"project": project}, {"existing_project": project}]
        return list(self._conflicts.find(query).sort(BY_PROJECT_AND_ID))

    def conflict_docs(self, conflict_id: str, project: str | None = None, limit: int = 2) -> list[dict[str, Any]]:
        """Conflicts whose ``_id`` is ``conflict_id`` or whose short id is its upper case."""
        query: dict[str, Any] = {"$or": [{"_id": conflict_id}, {"id": conflict_id.upper()}], **_project(project)}
        return list(self._conflicts.find(query).limit(limit))

    def insert_conflict(self, doc: dict[str, Any]) -> None:
        self._conflicts.insert_one(doc)

    def resolve_conflict(self, uid: str, choice: str, at: datetime) -> None:
        self._conflicts.update_one({"_id": uid}, {"$set": {"status": "resolved", "choice": choice, "resolved_at": at}})

    # -- threads ----------------------------------------------------------------------------
    def thread_docs(self, project: str | None, status: str | None = None, *,
                    include_dismissed: bool = True) -> list[dict[str, Any]]:
        """Threads ordered by project then id."""
        query = _project(project)
        if not include_dismissed:
            query["dismissed"] = {"$ne": True}
        if status is not None:
            query["status"] = status
        return list(self._threads.find(query).sort(BY_PROJECT_AND_ID))

    def abandoned_thread_docs(self, project: str | None) -> list[dict[str, Any]]:
        return list(self._threads.find({**_project(project), "status": {"$in": ["ABANDONED", "abandoned"]}}))

    def thread_doc(self, project: str, tid: str) -> dict[str, Any] | None:
        return self._threads.find_one({"project": project, "id": tid})

    def open_thread_doc(self, project: str, *, tid: str | None = None, title_key: str = "") -> dict[str, Any] | None:
        """The open, not dismissed thread with short id ``tid`` (when given) or normalised title ``title_key``."""
        match = {"id": tid} if tid else {"title_key": title_key}
        return self._threads.find_one({"project": project, **match, "status": "OPEN", "dismissed": {"$ne": True}})

    def insert_thread(self, doc: dict[str, Any]) -> None:
        self._threads.insert_one(doc)

    def add_thread_sources(self, uid: str, sources: Iterable[str], at: datetime) -> None:
        self._threads.update_one({"_id": uid}, {"$addToSet": {"sources": {"$each": list(sources)}},
                                                "$set": {"updated_at": at}})

    def close_thread(self, uid: str, status: str, resolution: str, sources: Sequence[str], at: datetime) -> None:
        """Close as ``status`` with ``resolution``; ``sources`` (the closing turns) join its sources too."""
        self._threads.update_one(
            {"_id": uid},
            {
                "$set": {"status": status, "resolution": resolution, "updated_at": at,
                         "resolution_sources": list(dict.fromkeys(sources))},
                "$addToSet": {"sources": {"$each": list(sources)}},
            },
        )  # fmt: skip

    def set_thread(self, uid: str, **fields: Any) -> None:
        self._threads.update_one({"_id": uid}, {"$set": fields})

    # -- hand corrections -------------------------------------------------------------------
    def correction_docs(self, project: str | None = None) -> Iterator[dict[str, Any]]:
        """The stored labelled sentences (without ``_id``), oldest first."""
        return self._corrections.find(_project(project), {"_id": 0}).sort("at", ASCENDING)

    def insert_correction(self, doc: dict[str, Any]) -> None:
        self._corrections.insert_one(doc)
