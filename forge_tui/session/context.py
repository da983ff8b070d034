"""What the model sees: the conversation's turns, plus inherited context.

Kept separate from the controller because compression (archive context) and
retrieval (offered decisions) both add to it.
"""

from __future__ import annotations

from typing import Sequence

from forge_tui.domain.models import Conversation, Role, Turn, TurnStatus

SYSTEM_PROMPT = "You are Forge, a concise and careful assistant for long-running technical work."

#: statuses whose text the model should see again (errors are not part of the dialogue)
REPLAYED = {TurnStatus.COMPLETE, TurnStatus.CANCELLED, TurnStatus.INTERRUPTED}


def build_messages(turns: Sequence[Turn], conversation: Conversation | None, store=None,
                   extra_context: Sequence[str] = ()) -> list[dict]:
    system = SYSTEM_PROMPT
    context_blocks = list(extra_context)
    if conversation is not None and conversation.archive_context and store is not None:
        block = archive_context_text(store, conversation.archive_context)
        if block:
            context_blocks.insert(0, block)
    if context_blocks:
        system += "\n\n" + "\n\n".join(context_blocks)
    messages = [{"role": Role.SYSTEM.value, "content": system}]
    for t in turns:
        if t.status in REPLAYED and t.content:
            messages.append({"role": t.role.value, "content": t.content})
    return messages


def archive_context_text(store, archive_id: str) -> str | None:
    """The archive a continued conversation starts from, rendered for the model."""
    doc = store.archives.find_one({"_id": archive_id})
    if not doc:
        return None
    text = doc.get("yaml") or doc.get("yaml_text")
    if not text:
        return None
    return "Context carried over from the previous session (Forge archive):\n" + text
