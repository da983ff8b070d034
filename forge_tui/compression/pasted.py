"""Real-time linking of archives pasted into a conversation.

When a user pastes a Forge archive (fenced or bare YAML) into a message, the
conversation continues from it: the archive is stored (if new) and an edge
conversation ``continued_from`` archive is written. Invalid or foreign blocks
are reported back, never stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from forge_tui.compression.service import import_archive
from forge_tui.protocol.detect import find_archive_blocks


@dataclass
class PasteLinks:
    linked: list[str] = field(default_factory=list)  # archive ids now linked
    invalid: list[str] = field(default_factory=list)  # one line per Forge archive that failed validation
    foreign: int = 0  # state blocks that are not Forge archives (left alone)


def link_pasted_archives(store: Any, conversation_id: str, text: str, message_id: str | None = None) -> PasteLinks:
    """Detect archives in ``text`` and link them to the conversation (idempotent)."""
    out = PasteLinks()
    for block in find_archive_blocks(text):
        if not block["is_forge_archive"]:
            out.foreign += 1
            continue
        if not block["valid"]:
            out.invalid.append(block["issues"][0] if block["issues"] else "invalid archive")
            continue
        archive_id = import_archive(store, block["data"], block["text"])
        meta = {"origin": "paste"}
        if message_id:
            meta["message_id"] = message_id
        store.add_edge(conversation_id, archive_id, "continued_from", **meta)
        out.linked.append(archive_id)
    return out
