"""Mapping between domain dataclasses and MongoDB documents."""

from __future__ import annotations

from datetime import timezone
from typing import Any

from forge_tui.domain.models import Conversation, Role, Turn, TurnStatus


def aware(value):
    """pymongo returns naive UTC datetimes unless tz_aware; normalise to aware."""
    if value is not None and getattr(value, "tzinfo", 1) is None:
        return value.replace(tzinfo=timezone.utc)
    return value


def conversation_to_doc(conv: Conversation) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "_id": conv.id,
        "project": conv.project,
        "title": conv.title,
        "created_at": conv.created_at,
        "updated_at": conv.updated_at,
        "model": conv.model,
        "turn_count": conv.turn_count,
        "archive_context": conv.archive_context,
        "source": conv.source,
        "context_items": conv.context_items,
    }
    if conv.system_prompt:  # absent otherwise, so an import's upsert never clears one set in Forge
        doc["system_prompt"] = conv.system_prompt
    if conv.trashed_at is not None:  # absent otherwise, so an import's upsert never restores from the trash
        doc["trashed_at"] = conv.trashed_at
        doc["trashed_from"] = conv.trashed_from
    if conv.head is not None:  # absent otherwise, so an import's upsert never moves the branch on show
        doc["head"] = conv.head
    return doc


def conversation_from_doc(doc: dict[str, Any]) -> Conversation:
    return Conversation(
        id=doc["_id"],
        project=doc.get("project", "default"),
        title=doc.get("title", ""),
        created_at=aware(doc.get("created_at")),
        updated_at=aware(doc.get("updated_at")),
        model=doc.get("model"),
        turn_count=doc.get("turn_count", 0),
        archive_context=doc.get("archive_context"),
        source=doc.get("source"),
        context_items=list(doc.get("context_items") or []),
        trashed_at=aware(doc.get("trashed_at")),
        trashed_from=doc.get("trashed_from"),
        system_prompt=doc.get("system_prompt") or None,
        head=doc.get("head"),
    )


def turn_to_doc(turn: Turn, project: str | None = None) -> dict[str, Any]:
    doc = {
        "_id": turn.id,
        "conversation_id": turn.conversation_id,
        "seq": turn.seq,
        "role": turn.role.value,
        "content": turn.content,
        "status": turn.status.value,
        "created_at": turn.created_at,
        "updated_at": turn.updated_at,
        "model": turn.model,
        "tokens": turn.tokens,
        "error": turn.error,
        "labels": list(turn.labels),
        "source": turn.source,
    }
    if turn.engine is not None:
        doc["engine"] = turn.engine
    if turn.usage is not None:
        doc["usage"] = dict(turn.usage)
    if turn.adapter:
        doc["adapter"] = turn.adapter
    if turn.parent_id is not None:  # absent otherwise: an import's upsert never unlinks a branch
        doc["parent_id"] = turn.parent_id
    if project is not None:
        doc["project"] = project
    return doc


def turn_from_doc(doc: dict[str, Any]) -> Turn:
    return Turn(
        id=doc["_id"],
        conversation_id=doc["conversation_id"],
        seq=doc.get("seq", 0),
        role=Role(doc.get("role", "user")),
        content=doc.get("content", ""),
        status=TurnStatus(doc.get("status", "complete")),
        created_at=aware(doc.get("created_at")),
        updated_at=aware(doc.get("updated_at")),
        model=doc.get("model"),
        tokens=doc.get("tokens"),
        error=doc.get("error"),
        labels=list(doc.get("labels") or []),
        source=doc.get("source"),
        engine=doc.get("engine"),
        usage=doc.get("usage"),
        adapter=doc.get("adapter"),
        parent_id=doc.get("parent_id"),
    )
