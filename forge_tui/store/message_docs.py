"""Raw conversation and message documents, mixed into ``Store``, for the features that work on
documents rather than ``Turn`` objects (search, importers, extraction catch-up)."""

from __future__ import annotations

from typing import Any, Iterable, Iterator

from pymongo import ASCENDING
from pymongo.collection import Collection


class MessageDocuments:
    """Document reads and deletes by id. Needs ``self.messages`` and ``self.conversations``."""

    messages: Collection
    conversations: Collection

    def message_doc(self, message_id: str, fields: Any = None) -> dict[str, Any] | None:
        return self.messages.find_one({"_id": message_id}, fields)

    def message_docs(self, message_ids: Iterable[str], fields: Any = None) -> list[dict[str, Any]]:
        return list(self.messages.find({"_id": {"$in": list(message_ids)}}, fields))

    def message_doc_at(self, conversation_id: str, seq: int) -> dict[str, Any] | None:
        """The turn at position ``seq`` of the conversation, if there is one."""
        return self.messages.find_one({"conversation_id": conversation_id, "seq": seq})

    def has_messages(self) -> bool:
        return self.messages.find_one({}, {"_id": 1}) is not None

    def turn_in_conversation(self, message_id: str, conversation_id: str) -> bool:
        return self.messages.count_documents({"_id": message_id, "conversation_id": conversation_id}, limit=1) > 0

    def conversation_docs(self, conversation_ids: Iterable[str]) -> list[dict[str, Any]]:
        return list(self.conversations.find({"_id": {"$in": list(conversation_ids)}}))

    def conversation_titles(self, conversation_ids: Iterable[str]) -> dict[str, str]:
        """Each conversation's title ('' when it has none); absent ids are left out."""
        docs = self.conversations.find({"_id": {"$in": list(conversation_ids)}}, {"title": 1})
        return {c["_id"]: c.get("title") or "" for c in docs}

    def unextracted_count(self, conversation_ids: Iterable[str]) -> int:
        """Turns of these conversations that knowledge extraction has not seen yet."""
        return self.messages.count_documents({"conversation_id": {"$in": list(conversation_ids)}, "extracted_at": None})

    def unextracted_docs(self, conversation_ids: Iterable[str]) -> Iterator[dict[str, Any]]:
        """Those turns' documents, in conversation then seq order, read as they are consumed."""
        query = {"conversation_id": {"$in": list(conversation_ids)}, "extracted_at": None}
        return self.messages.find(query).sort([("conversation_id", ASCENDING), ("seq", ASCENDING)])

    def delete_messages(self, message_ids: Iterable[str]) -> None:
        self.messages.delete_many({"_id": {"$in": list(message_ids)}})

    def delete_turns_except(self, conversation_id: str, keep_ids: Iterable[str]) -> None:
        """Drop the conversation's turns whose ids are not in ``keep_ids``."""
        self.messages.delete_many({"conversation_id": conversation_id, "_id": {"$nin": list(keep_ids)}})
