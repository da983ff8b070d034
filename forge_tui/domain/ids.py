"""Deterministic UUIDv8 identifiers (RFC 9562, version 8, variant ``10``).

Every entity ID is derived from its parent namespace: ``BASE_UUID`` -> project
namespace -> conversation -> message. The 128 bits are the first 16 bytes of
SHA-256 over ``parent.bytes | name | timestamp``, with the version nibble set to
8 and the variant bits to ``10``. Same inputs, same ID: this is what makes
re-imports idempotent and lets tests pin known vectors.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime

#: Root of every Forge namespace. Never change it: all stored IDs derive from it.
BASE_UUID = uuid.UUID("6f8e2d4a-1c3b-8a5e-9f07-2b4d6e8a0c1f")


def _timestamp_text(timestamp: datetime | str | None) -> str:
    if timestamp is None:
        return ""
    if isinstance(timestamp, datetime):
        return timestamp.isoformat()
    return str(timestamp)


def uuid8(parent: uuid.UUID, name: str, timestamp: datetime | str | None = None) -> uuid.UUID:
    """Derive a UUIDv8 from a parent namespace, a name and an optional timestamp."""
    digest = hashlib.sha256(
        parent.bytes + b"\x00" + name.encode("utf-8") + b"\x00" + _timestamp_text(timestamp).encode("utf-8")
    ).digest()
    raw = bytearray(digest[:16])
    raw[6] = (raw[6] & 0x0F) | 0x80  # version 8
    raw[8] = (raw[8] & 0x3F) | 0x80  # variant 10
    return uuid.UUID(bytes=bytes(raw))


def project_namespace(project: str) -> uuid.UUID:
    return uuid8(BASE_UUID, f"project:{project}")


def conversation_id(project: str, name: str, timestamp: datetime | str | None) -> str:
    return str(uuid8(project_namespace(project), f"conversation:{name}", timestamp))


def message_id(conversation: str, name: str, timestamp: datetime | str | None) -> str:
    return str(uuid8(uuid.UUID(conversation), f"message:{name}", timestamp))


def entity_id(project: str, kind: str, name: str, timestamp: datetime | str | None = None) -> str:
    """ID for any other per-project entity (archive, decision, thread, pattern...)."""
    return str(uuid8(project_namespace(project), f"{kind}:{name}", timestamp))


def is_uuid8(value: str) -> bool:
    try:
        parsed = uuid.UUID(value)
    except (ValueError, TypeError, AttributeError):
        return False
    return parsed.version == 8 and (parsed.bytes[8] >> 6) == 0b10
