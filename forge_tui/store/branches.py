"""Branches of a conversation in the store, mixed into ``Store``.

A regenerated reply or an edited message is a new turn beside the old one (same
parent, see ``domain.branches``); nothing is overwritten or deleted. The
conversation document remembers the branch on show (``head``: its last turn) and
``turn_count`` counts that branch's turns. Turns stored in ``seq`` order keep the
unique ``(conversation_id, seq)`` index: ``seq`` is the order turns were written,
their place on a branch is the walk through ``parent_id``. A parented turn also
stores its ``depth`` (its index on its branch) so the count needs no walk.

Lineage records every fork: ``branched_into`` from the turn replaced to the new
version (``how``: ``regenerate`` or ``edit``), with the conversation's id.
"""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING
from pymongo.collection import Collection

from forge_tui.domain.branches import TurnTree
from forge_tui.domain.models import Turn, utcnow
from forge_tui.store.codec import turn_from_doc

#: the lineage edge kind of a fork (old version -> new version)
BRANCHED_INTO = "branched_into"


class BranchDocuments:
    """Needs ``self._messages``, ``self._conversations``, ``self._lineage_edges`` (see ``Store``)."""

    _messages: Collection
    _conversations: Collection
    _lineage_edges: Collection

    def turn_tree(self, conversation_id: str) -> TurnTree:
        """Every stored turn of the conversation and the head of its branch on show."""
        conv = self._conversations.find_one({"_id": conversation_id}, {"head": 1}) or {}
        cursor = self._messages.find({"conversation_id": conversation_id}).sort("seq", ASCENDING)
        return TurnTree(conversation_id, [turn_from_doc(d) for d in cursor], conv.get("head"))

    def active_turns(self, conversation_id: str) -> list[Turn]:
        """The branch on show, first turn first (every turn, for a conversation never branched)."""
        return self.turn_tree(conversation_id).path()

    def set_head(self, conversation_id: str, head_id: str) -> None:
        """Show the branch ending at ``head_id``; ``turn_count`` becomes that branch's length."""
        fields: dict[str, Any] = {"head": head_id}
        length = self._branch_length(head_id)
        if length is not None:
            fields["turn_count"] = length
        self._conversations.update_one({"_id": conversation_id}, {"$set": fields})
        self._mark_off_branch(conversation_id)

    def record_branch(self, conversation_id: str, old_turn_id: str, new_turn_id: str, how: str) -> None:
        """A lineage edge from the version replaced to the new one (idempotent); the turns the fork left
        off the branch on show are marked (``off_branch``)."""
        self._lineage_edges.update_one(
            {"src": old_turn_id, "dst": new_turn_id, "kind": BRANCHED_INTO},
            {"$setOnInsert": {"created_at": utcnow(), "conversation_id": conversation_id, "how": how}},
            upsert=True,
        )
        self._mark_off_branch(conversation_id)

    def off_branch_turn_ids(self, project: str | None = None) -> set[str]:
        """Ids of the turns that are not on their conversation's branch on show (the knowledge
        pane leaves out what only they said). One indexed read: the marks are kept by the writes
        that move a branch (``record_branch``, ``set_head``)."""
        query: dict[str, Any] = {"off_branch": True}
        if project is not None:
            query["project"] = project
        return {d["_id"] for d in self._messages.find(query, {"_id": 1})}

    def _mark_off_branch(self, conversation_id: str) -> None:
        """Mark ``off_branch`` the turns off the branch on show, and clear the mark on the others."""
        fields = {"conversation_id": 1, "seq": 1, "parent_id": 1}
        docs = self._messages.find({"conversation_id": conversation_id}, fields)
        conv = self._conversations.find_one({"_id": conversation_id}, {"head": 1}) or {}
        off = sorted(TurnTree(conversation_id, [turn_from_doc(d) for d in docs], conv.get("head")).off_path())
        self._messages.update_many({"conversation_id": conversation_id, "off_branch": True, "_id": {"$nin": off}},
                                   {"$unset": {"off_branch": ""}})
        if off:
            self._messages.update_many({"_id": {"$in": off}}, {"$set": {"off_branch": True}})

    def branch_edges(self, conversation_id: str) -> list[dict[str, Any]]:
        """Every fork recorded in the conversation, oldest first."""
        return list(self._lineage_edges.find({"kind": BRANCHED_INTO, "conversation_id": conversation_id})
                    .sort("created_at", ASCENDING))

    # -- used by Store.insert_turn ---------------------------------------------------------
    def _depth_after(self, turn: Turn) -> int | None:
        """The index on its branch of a parented turn (None when the parent cannot be found)."""
        if turn.parent_id is None:
            return None
        if turn.parent_id == turn.conversation_id:
            return 0
        parent = self._branch_length(turn.parent_id)
        return None if parent is None else parent

    def _branch_length(self, turn_id: str) -> int | None:
        """How many turns the branch ending at ``turn_id`` has (its depth + 1)."""
        doc = self._messages.find_one({"_id": turn_id}, {"depth": 1, "seq": 1})
        if doc is None:
            return None
        depth = doc.get("depth")
        return (depth if isinstance(depth, int) else int(doc.get("seq", 0))) + 1
