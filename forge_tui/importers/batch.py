"""Write imported conversations in batches: a few round trips per hundred conversations.

An export of 10,000 conversations written one at a time costs tens of thousands
of round trips (read the existing conversation, upsert every turn, upsert the
conversation). Here a batch of parsed conversations costs: one read of which
already exist, one read of their stored turns, one ``insert_many`` of every new
turn and one of the new conversation documents. Conversations that already
exist (a re-import, an update at the source) take the careful one-by-one path in
``service`` — a re-run after a killed import finds the finished part unchanged in
one read per batch and inserts the rest.

Whole or not at all, as before: turns go in first, the conversation document
last, so a conversation is only listed once every turn is in. A turn or
conversation the database refuses (too large, not encodable) turns that
conversation alone into a counted skip.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bson import encode
from bson.errors import BSONError

from forge_tui.domain.models import Conversation, Turn
from forge_tui.importers.model import ParsedConversation
from forge_tui.store.codec import conversation_to_doc, turn_to_doc
from forge_tui.store.repository import Store

#: Flush a batch at this many conversations, or this many turns, or this many characters.
BATCH_CONVERSATIONS = 250
BATCH_TURNS = 5_000
BATCH_CHARS = 32_000_000
#: MongoDB's document size limit, less room for the command around it.
MAX_DOC_BYTES = 16 * 1024 * 1024 - 64 * 1024


@dataclass
class Pending:
    parsed: ParsedConversation
    project: str
    cid: str


@dataclass
class Batch:
    items: list[Pending] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)
    turns: int = 0
    chars: int = 0

    def add(self, item: Pending) -> None:
        self.items.append(item)
        self.ids.add(item.cid)
        self.turns += len(item.parsed.messages)
        self.chars += sum(len(m.content) for m in item.parsed.messages)

    @property
    def full(self) -> bool:
        return (len(self.items) >= BATCH_CONVERSATIONS or self.turns >= BATCH_TURNS
                or self.chars >= BATCH_CHARS)


@dataclass
class NewConversation:
    conv: Conversation
    turns: list[Turn]
    conv_doc: dict[str, Any]
    turn_docs: list[dict[str, Any]]


def prefetch(store: Store, ids: list[str]) -> tuple[dict[str, dict], dict[str, list[dict]]]:
    """The stored conversation documents among ``ids`` and their turns, in two reads."""
    existing = {d["_id"]: d for d in store.conversation_docs(ids)}
    stored: dict[str, list[dict]] = {cid: [] for cid in existing}
    if existing:
        for doc in store.message_docs_in(existing):
            stored[doc["conversation_id"]].append(doc)
    return existing, stored


def encodable(conv: Conversation, turns: list[Turn]) -> tuple[NewConversation | None, str | None]:
    """The documents for a new conversation, or the reason the database would refuse them."""
    conv.turn_count = len(turns)
    try:
        conv_doc = conversation_to_doc(conv)
        turn_docs = [turn_to_doc(t, conv.project) for t in turns]
        for doc in (conv_doc, *turn_docs):
            size = len(encode(doc))
            if size > MAX_DOC_BYTES:
                return None, f"database refused it: a message of {size:,} bytes is over MongoDB's 16 MB document limit"
    except (BSONError, OverflowError, ValueError) as exc:
        return None, f"database refused it: {type(exc).__name__}: {' '.join(str(exc).split())[:160]}"
    return NewConversation(conv, turns, conv_doc, turn_docs), None


def insert_new(store: Store, new: list[NewConversation]) -> set[str]:
    """Insert new conversations (turns first, documents last). Returns the ids of those
    whose insert hit something already there (left-overs of a killed import, or another
    process importing the same export): the caller writes them one by one instead."""
    if not new:
        return set()
    retry: set[str] = set()
    turn_docs = [d for n in new for d in n.turn_docs]
    retry |= {turn_docs[i]["conversation_id"] for i in store.insert_message_docs(turn_docs)}
    conv_docs = [n.conv_doc for n in new if n.conv.id not in retry]
    retry |= {conv_docs[i]["_id"] for i in store.insert_conversation_docs(conv_docs)}
    return retry
