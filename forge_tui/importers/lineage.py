"""Rebuild archive lineage from imported text.

Before Forge, people carried state between conversations by pasting YAML
"state" blocks. When an import finds such a block, the conversation whose
*assistant* turn first emitted it produced the archive (``compressed_into``),
and conversations that paste it in an *early user* turn continue from it
(``continued_from``). Mentions are stored (``archive_mentions``) so an archive
produced in one import and continued in another still gets linked.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable


from forge_tui.domain.models import Conversation, Turn
from forge_tui.protocol.detect import find_archive_blocks
from forge_tui.store.repository import Store

#: A user turn at seq < EARLY_USER_SEQ that pastes an archive is a continuation.
EARLY_USER_SEQ = 4


@dataclass(frozen=True)
class Mention:
    key: str
    conversation_id: str
    project: str
    turn_id: str
    seq: int
    role: str
    created_at: datetime
    block: dict[str, Any]


def archive_key(block: dict[str, Any]) -> str:
    """An archive's identity: its ``archive_id``, else a hash of its normalised content."""
    if block.get("archive_id"):
        return str(block["archive_id"])
    data = block.get("data", block)
    normal = json.dumps(data, sort_keys=True, ensure_ascii=False, default=str, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(normal.encode("utf-8")).hexdigest()[:32]


def scan(conv: Conversation, turns: Iterable[Turn]) -> list[Mention]:
    found: list[Mention] = []
    for turn in turns:
        if "archive_id" not in turn.content and "decisions" not in turn.content and "threads" not in turn.content:
            continue  # cheap pre-filter: the detector parses YAML
        for block in find_archive_blocks(turn.content):
            found.append(
                Mention(archive_key(block), conv.id, conv.project, turn.id, turn.seq, turn.role.value,
                        turn.created_at, block)
            )
    return found


def record(store: Store, mentions: list[Mention]) -> None:
    store.record_mentions(
        {"key": m.key, "conversation_id": m.conversation_id, "project": m.project, "turn_id": m.turn_id,
         "seq": m.seq, "role": m.role, "created_at": m.created_at}
        for m in mentions
    )  # fmt: skip


def link(store: Store, keys: Iterable[str], blocks: dict[str, dict[str, Any]]) -> int:
    """Create the lineage edges (and an ``archives`` document when none exists) for ``keys``.
    Returns the number of edges created or confirmed."""
    edges = 0
    for key in keys:
        mentions = store.mentions_of(key)
        if not mentions:
            continue
        producers = [m for m in mentions if m["role"] == "assistant"]
        producer = producers[0]["conversation_id"] if producers else None
        if producer:
            store.add_edge(producer, key, "compressed_into", origin="import")
            edges += 1
        _ensure_archive(store, key, producers[0] if producers else mentions[0], producer, blocks.get(key))
        continuing = {
            m["conversation_id"]
            for m in mentions
            if m["role"] == "user" and m["seq"] < EARLY_USER_SEQ and m["conversation_id"] != producer
        }
        for cid in sorted(continuing):
            store.add_edge(cid, key, "continued_from", origin="import")
            store.set_archive_context_if_unset(cid, key)
            edges += 1
    return edges


def _ensure_archive(
    store: Store, key: str, first: dict[str, Any], producer: str | None, block: dict[str, Any] | None
) -> None:
    """An imported archive becomes a document in ``archives`` unless Forge already has it
    (``source_conversations`` is empty when only pastes of it were found)."""
    if block is None:
        return
    store.add_archive_if_absent(key, {
        "project": first["project"],
        "archive_id": block.get("archive_id"),
        "data": _bson_safe(block.get("data")),
        "yaml": block.get("text"),
        "source_conversations": [producer] if producer else [],
        "created_at": first["created_at"],
        "origin": "import",
    })


def _bson_safe(data: Any) -> Any:
    """YAML may hold dates and non-string keys, which BSON cannot store: normalise via JSON."""
    return json.loads(json.dumps(data, default=str, ensure_ascii=False))
