"""A conversation's turns as a tree: regenerated replies and edited messages are branches.

Each stored turn names the turn it follows (``Turn.parent_id``; the conversation's own
id for a first turn). Turns written before branching existed, and imported ones, name
none: they follow the turn stored just before them (``seq`` order), which is exactly
the straight line they were written as, so old conversations read unchanged.

The branch on show ends at the conversation's ``head`` (no head: the newest turn); the
turns shown are the walk from there up to the root. Turns with the same parent are
*siblings* — the versions of one reply or one message — and are never deleted.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Iterable, Sequence

from forge_tui.domain.models import Turn


@dataclass
class TurnTree:
    """Every turn of one conversation (any order) and the head of the branch on show."""

    conversation_id: str
    turns: Sequence[Turn]
    head: str | None = None
    _by_id: dict[str, Turn] = field(init=False, repr=False)
    _parent: dict[str, str] = field(init=False, repr=False)
    _children: dict[str, list[str]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        ordered = sorted(self.turns, key=lambda t: t.seq)
        self.turns = ordered
        self._by_id = {t.id: t for t in ordered}
        self._parent = {}
        self._children = {}
        previous = self.conversation_id
        for turn in ordered:
            parent = turn.parent_id if turn.parent_id is not None else previous
            if parent != self.conversation_id and parent not in self._by_id:
                parent = previous  # a parent that is not stored (yet): keep the straight line
            self._parent[turn.id] = parent
            self._children.setdefault(parent, []).append(turn.id)
            previous = turn.id

    @classmethod
    def merged(cls, conversation_id: str, stored: Iterable[Turn], fresh: Iterable[Turn],
               head: str | None = None) -> "TurnTree":
        """The stored turns updated with ``fresh`` ones (held in memory, perhaps not written yet)."""
        by_id = {t.id: t for t in stored}
        by_id.update({t.id: t for t in fresh})
        return cls(conversation_id, list(by_id.values()), head)

    def __contains__(self, turn_id: object) -> bool:
        return turn_id in self._by_id

    def get(self, turn_id: str) -> Turn | None:
        return self._by_id.get(turn_id)

    def parent_of(self, turn_id: str) -> str:
        """The parent's id (the conversation's id for a first turn)."""
        return self._parent[turn_id]

    def siblings(self, turn_id: str) -> list[str]:
        """Every version at this turn's place, oldest first (the turn itself included)."""
        return list(self._children.get(self._parent[turn_id], [turn_id]))

    def newest_leaf(self, turn_id: str) -> str:
        """The end of the branch below ``turn_id`` written last (itself when nothing follows it): going
        back to a version brings back the branch last worked on there."""
        best, stack = turn_id, [turn_id]
        while stack:
            node = stack.pop()
            kids = self._children.get(node, [])
            if not kids and self._by_id[node].seq > self._by_id[best].seq:
                best = node
            stack.extend(kids)
        return best

    def path(self, head: str | None = None) -> list[Turn]:
        """The branch ending at ``head`` (default: the tree's head, else the newest turn), root first.
        Each turn names its parent (a turn stored without one gets the parent it was read to have)."""
        leaf = head or self.head
        if leaf not in self._by_id:
            leaf = self.turns[-1].id if self.turns else None
        out: list[Turn] = []
        while leaf is not None and leaf in self._by_id:
            turn = self._by_id[leaf]
            out.append(turn if turn.parent_id is not None else replace(turn, parent_id=self._parent[leaf]))
            leaf = self._parent[leaf]
        out.reverse()
        return out

    def branches(self) -> dict[str, tuple[str, ...]]:
        """Parent id -> its children's ids, for every place that has more than one version."""
        return {parent: tuple(kids) for parent, kids in self._children.items() if len(kids) > 1}

    def off_path(self, head: str | None = None) -> set[str]:
        """Ids of the turns not on the branch ending at ``head``."""
        on = {t.id for t in self.path(head)}
        return set(self._by_id) - on
