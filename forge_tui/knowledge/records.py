"""Plain records the registries return: decisions, threads, conflicts.

Short ids (``D001``, ``T001``, ``C001``) are per project and assigned by the
program; ``uid`` is the UUIDv8 ``_id`` underneath. Cross-project references are
written ``project/D001``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from forge_tui.knowledge.errors import KnowledgeError
from forge_tui.protocol.spec import PRIORITIES, THREAD_STATUSES
from forge_tui.store.codec import aware

DECISION_STATUSES = ("active", "superseded", "rejected", "dismissed")
DECISION_KINDS = ("decision", "constraint")
__all__ = ["PRIORITIES", "THREAD_STATUSES", "DECISION_STATUSES", "DECISION_KINDS", "CHOICES", "Decision", "Thread", "Conflict"]
CHOICES = ("keep_both", "supersede", "reject")


@dataclass
class Decision:
    uid: str
    id: str
    project: str
    text: str
    rationale: str = ""
    tier: float = 0.5
    priority: str = "medium"
    status: str = "active"
    supersedes: list[str] = field(default_factory=list)
    superseded_by: str | None = None
    conflicts_with: list[str] = field(default_factory=list)
    scope: str = ""
    subject: str = ""
    key: str = ""
    artifacts: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    conversation_id: str | None = None
    created_at: datetime | None = None
    last_validated: datetime | None = None
    hops: int = 0
    embedding: list[float] | None = None
    restatements: int = 0
    statement: str = ""  # the verbatim sentence it came from (what the conflict policy compares)
    kind: str = "decision"  # decision | constraint (a rule that must keep holding, quoted verbatim)
    value: str = ""  # what was chosen ("Redis"); for an accepted proposal, the proposal
    pinned: bool = False  # stated or confirmed by hand: extraction never overrides it

    @property
    def source_message_id(self) -> str | None:
        """The turn that first stated it (what the sidebar jumps to)."""
        return self.sources[0] if self.sources else None

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> "Decision":
        return cls(
            uid=doc["_id"],
            id=doc["id"],
            project=doc["project"],
            text=doc.get("text", ""),
            rationale=doc.get("rationale", ""),
            tier=float(doc.get("tier", 0.5)),
            priority=doc.get("priority", "medium"),
            status=doc.get("status", "active"),
            supersedes=list(doc.get("supersedes") or []),
            superseded_by=doc.get("superseded_by"),
            conflicts_with=list(doc.get("conflicts_with") or []),
            scope=doc.get("scope", ""),
            subject=doc.get("subject", ""),
            key=doc.get("key", ""),
            artifacts=list(doc.get("artifacts") or []),
            sources=list(doc.get("sources") or []),
            conversation_id=doc.get("conversation_id"),
            created_at=aware(doc.get("created_at")),
            last_validated=aware(doc.get("last_validated")),
            hops=int(doc.get("hops", 0)),
            embedding=doc.get("embedding"),
            restatements=int(doc.get("restatements", 0)),
            statement=doc.get("statement", ""),
            kind=doc.get("kind", "decision"),
            value=doc.get("value", ""),
            pinned=bool(doc.get("pinned", False)),
        )

    def to_doc(self) -> dict[str, Any]:
        """The MongoDB document (``uid`` becomes ``_id``)."""
        return {
            "_id": self.uid,
            "id": self.id,
            "project": self.project,
            "text": self.text,
            "rationale": self.rationale,
            "tier": self.tier,
            "priority": self.priority,
            "status": self.status,
            "supersedes": self.supersedes,
            "superseded_by": self.superseded_by,
            "conflicts_with": self.conflicts_with,
            "scope": self.scope,
            "subject": self.subject,
            "key": self.key,
            "artifacts": self.artifacts,
            "sources": self.sources,
            "conversation_id": self.conversation_id,
            "created_at": self.created_at,
            "last_validated": self.last_validated,
            "hops": self.hops,
            "embedding": self.embedding,
            "restatements": self.restatements,
            "statement": self.statement,
            "kind": self.kind,
            "value": self.value,
            "pinned": self.pinned,
        }

    def to_public(self) -> dict[str, Any]:
        """JSON-friendly view (CLI ``--json``, archives): the document without internals."""
        doc = self.to_doc()
        for internal in ("_id", "artifacts", "embedding", "restatements"):
            doc.pop(internal)
        doc["created_at"] = _iso(self.created_at)
        doc["last_validated"] = _iso(self.last_validated)
        return doc


@dataclass
class Thread:
    uid: str
    id: str
    project: str
    title: str
    status: str = "OPEN"
    priority: str = "medium"
    sources: list[str] = field(default_factory=list)
    conversation_id: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    resolution: str = ""
    question: str = ""  # the sentence that asked it, verbatim
    resolution_sources: list[str] = field(default_factory=list)  # the turn(s) that answered it
    dismissed: bool = False  # a wrong item the user dismissed (kept, with the event, never deleted)
    pinned: bool = False

    @property
    def source_message_id(self) -> str | None:
        return self.sources[0] if self.sources else None

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> "Thread":
        return cls(
            uid=doc["_id"],
            id=doc["id"],
            project=doc["project"],
            title=doc.get("title", ""),
            status=doc.get("status", "OPEN"),
            priority=doc.get("priority", "medium"),
            sources=list(doc.get("sources") or []),
            conversation_id=doc.get("conversation_id"),
            created_at=aware(doc.get("created_at")),
            updated_at=aware(doc.get("updated_at")),
            resolution=doc.get("resolution", ""),
            question=doc.get("question", ""),
            resolution_sources=list(doc.get("resolution_sources") or []),
            dismissed=bool(doc.get("dismissed", False)),
            pinned=bool(doc.get("pinned", False)),
        )

    def to_public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "project": self.project,
            "title": self.title,
            "status": self.status,
            "priority": self.priority,
            "sources": self.sources,
            "conversation_id": self.conversation_id,
            "created_at": _iso(self.created_at),
            "updated_at": _iso(self.updated_at),
            "resolution": self.resolution,
            "resolution_sources": self.resolution_sources,
            "dismissed": self.dismissed,
        }


@dataclass
class Conflict:
    """A clash the policy could not settle alone.

    ``kind`` is ``ambiguous`` (status ``pending`` until the user chooses) or
    ``cross_project`` (status ``blocked``: shown, never merged or superseded).
    """

    uid: str
    id: str
    project: str
    kind: str
    status: str
    new: str
    existing: str
    existing_project: str
    basis: str
    reason: str
    created_at: datetime | None = None
    choice: str | None = None
    resolved_at: datetime | None = None

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> "Conflict":
        return cls(
            uid=doc["_id"],
            id=doc["id"],
            project=doc["project"],
            kind=doc["kind"],
            status=doc["status"],
            new=doc["new"],
            existing=doc["existing"],
            existing_project=doc["existing_project"],
            basis=doc.get("basis", ""),
            reason=doc.get("reason", ""),
            created_at=aware(doc.get("created_at")),
            choice=doc.get("choice"),
            resolved_at=aware(doc.get("resolved_at")),
        )

    def to_public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "project": self.project,
            "kind": self.kind,
            "status": self.status,
            "new": self.new,
            "existing": self.existing,
            "existing_project": self.existing_project,
            "basis": self.basis,
            "reason": self.reason,
            "created_at": _iso(self.created_at),
            "choice": self.choice,
        }


@dataclass
class RecordOutcome:
    """What ``Registry.record_decision`` did with one statement.

    ``action``: ``created`` | ``merged`` (restatement of ``decision``) | ``superseded``
    (created, and replaced ``superseded``) | ``pending_conflict`` | ``blocked``
    (created, with a cross-project clash shown in ``conflicts``).
    """

    action: str
    decision: Decision
    superseded: list[str] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def check_text(text: str) -> str:
    if not isinstance(text, str) or not text.strip():
        raise KnowledgeError("A decision needs non-empty text (the statement itself).")
    return " ".join(text.split())


def check_tier_priority(tier: float, priority: str) -> None:
    if not isinstance(tier, (int, float)) or not 0.0 <= float(tier) <= 1.0:
        raise KnowledgeError(f"Tier must be a number from 0.0 to 1.0, got {tier!r}.")
    if priority not in PRIORITIES:
        raise KnowledgeError(f"Priority must be one of {', '.join(PRIORITIES)}, got {priority!r}.")
