"""Raw conversation and message documents, mixed into ``Store``, for the features that work on
documents rather than ``Turn`` objects (search, importers, extraction catch-up)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable, Iterator

from pymongo import ASCENDING, DESCENDING, UpdateOne
from pymongo.collection import Collection


class MessageDocuments:
    """Document reads and deletes by id. Needs ``self._messages`` and ``self._conversations``."""

    _messages: Collection
    _conversations: Collection

    def message_doc(self, message_id: str, fields: Any = None) -> dict[str, Any] | None:
        return self._messages.find_one({"_id": message_id}, fields)

    def message_docs(self, message_ids: Iterable[str], fields: Any = None) -> list[dict[str, Any]]:
        return list(self._messages.find({"_id": {"$in": list(message_ids)}}, fields))

    def message_doc_at(self, conversation_id: str, seq: int) -> dict[str, Any] | None:
        """The turn at position ``seq`` of the conversation, if there is one."""
        return self._messages.find_one({"conversation_id": conversation_id, "seq": seq})

    def message_docs_in(self, conversation_ids: Iterable[str], fields: Any = None) -> Iterator[dict[str, Any]]:
        """Every turn document of these conversations (any order), read as consumed."""
        return self._messages.find({"conversation_id": {"$in": list(conversation_ids)}}, fields)

    def all_message_docs(self, fields: Any = None, batch_size: int = 5000) -> Iterator[dict[str, Any]]:
        """Every turn document, one cursor (on SecantusDB faster than ids-then-batches by ~10x)."""
        return self._messages.find({}, fields, batch_size=batch_size)

    def message_changes_since(self, since: datetime) -> Iterator[dict[str, Any]]:
        """``_id``, ``updated_at`` and ``status`` of the turns written at or after ``since`` (indexed)."""
        return self._messages.find({"updated_at": {"$gte": since}}, {"_id": 1, "updated_at": 1, "status": 1})

    def message_docs_at(self, conversation_ids: Iterable[str], seqs: Iterable[int],
                        fields: Any = None) -> Iterator[dict[str, Any]]:
        """Turns of these conversations at any of these positions (the ``(conversation_id, seq)`` index)."""
        query = {"conversation_id": {"$in": list(conversation_ids)}, "seq": {"$in": list(seqs)}}
        return self._messages.find(query, fields)

    def previous_message_doc(self, conversation_id: str, before_seq: int, fields: Any = None) -> dict[str, Any] | None:
        """The last non-system turn of the conversation before position ``before_seq``."""
        return self._messages.find_one(
            {"conversation_id": conversation_id, "seq": {"$lt": before_seq}, "role": {"$ne": "system"}},
            fields, sort=[("seq", DESCENDING)],
        )  # fmt: skip

    def set_message_fields(self, message_id: str, **fields: Any) -> None:
        """Set annotation fields on a turn (``labels``, ``extracted_at``…) without touching ``updated_at``."""
        self._messages.update_one({"_id": message_id}, {"$set": fields})

    def is_extracted(self, message_id: str) -> bool:
        return self._messages.find_one({"_id": message_id, "extracted_at": {"$ne": None}}, {"_id": 1}) is not None

    def unlabelled_message_docs(self, project: str | None, limit: int) -> list[dict[str, Any]]:
        """Up to ``limit`` turns (content and role) never labelled by the topic classifier."""
        query: dict[str, Any] = {"labelled": {"$ne": True}}
        if project is not None:
            query["project"] = project
        return list(self._messages.find(query, {"content": 1, "role": 1}).limit(limit))

    def set_labels(self, labels: dict[str, list[str]]) -> None:
        """Store each turn's topic labels (message id -> labels) and mark it labelled, in one write."""
        ops = [UpdateOne({"_id": mid}, {"$set": {"labels": value, "labelled": True}}) for mid, value in labels.items()]
        if ops:
            self._messages.bulk_write(ops, ordered=False)

    def labelled_message_docs(self, label: str, project: str | None = None) -> Iterator[dict[str, Any]]:
        """Turns carrying topic ``label``, in conversation then seq order."""
        query: dict[str, Any] = {"labels": label}
        if project is not None:
            query["project"] = project
        return self._messages.find(query).sort([("conversation_id", ASCENDING), ("seq", ASCENDING)])

    def has_messages(self) -> bool:
        return self._messages.find_one({}, {"_id": 1}) is not None

    def turn_in_conversation(self, message_id: str, conversation_id: str) -> bool:
        return self._messages.count_documents({"_id": message_id, "conversation_id": conversation_id}, limit=1) > 0

    def conversation_doc(self, conversation_id: str) -> dict[str, Any] | None:
        return self._conversations.find_one({"_id": conversation_id})

    def conversation_docs(self, conversation_ids: Iterable[str]) -> list[dict[str, Any]]:
        return list(self._conversations.find({"_id": {"$in": list(conversation_ids)}}))

    def conversation_titles(self, conversation_ids: Iterable[str]) -> dict[str, str]:
        """Each conversation's title ('' when it has none); absent ids are left out."""
        docs = self._conversations.find({"_id": {"$in": list(conversation_ids)}}, {"title": 1})
        return {c["_id"]: c.get("title") or "" for c in docs}

    def unextracted_count(self, conversation_ids: Iterable[str]) -> int:
        """Turns of these conversations that knowledge extraction has not seen yet."""
        return self._messages.count_documents({"conversation_id": {"$in": list(conversation_ids)}, "extracted_at": None})

    def unextracted_docs(self, conversation_ids: Iterable[str]) -> Iterator[dict[str, Any]]:
        """Those turns' documents, in conversation then seq order, read as they are consumed."""
        query = {"conversation_id": {"$in": list(conversation_ids)}, "extracted_at": None}
        return self._messages.find(query).sort([("conversation_id", ASCENDING), ("seq", ASCENDING)])

    def delete_messages(self, message_ids: Iterable[str]) -> None:
        self._messages.delete_many({"_id": {"$in": list(message_ids)}})

    def delete_turns_except(self, conversation_id: str, keep_ids: Iterable[str]) -> None:
        """Drop the conversation's turns whose ids are not in ``keep_ids``."""
        self._messages.delete_many({"conversation_id": conversation_id, "_id": {"$nin": list(keep_ids)}})
