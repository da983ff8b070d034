"""What the model sees: the conversation's turns, plus inherited context.

Kept apart from the controller because compression (the archive a conversation
continues from, with any verbatim turns of a partial archive) and retrieval
(decisions and constraints offered from other sessions) both add to it.

The one system message starts with the user's system prompt (the conversation's
own, else its project's default) in place of Forge's built-in one; the engine's
chat template renders it as the model's system turn.
"""

from __future__ import annotations

from typing import Sequence

from forge_tui.domain.models import Conversation, Role, SystemPrompt, Turn, TurnStatus

SYSTEM_PROMPT = "You are Forge, a concise and careful assistant for long-running technical work."

#: statuses whose text the model should see again (errors are not part of the dialogue)
REPLAYED = {TurnStatus.COMPLETE, TurnStatus.TRUNCATED, TurnStatus.CANCELLED, TurnStatus.INTERRUPTED}


def build_messages(turns: Sequence[Turn], conversation: Conversation | None, store=None,
                   extra_context: Sequence[str] = (), system_prompt: SystemPrompt | None = None) -> list[dict]:
    """``system_prompt``: the user's (``domain.models.effective_system_prompt``); None: Forge's own."""
    system = system_prompt.text if system_prompt is not None else SYSTEM_PROMPT
    blocks = list(extra_context)
    if conversation is not None:
        kept = [item["text"] for item in conversation.context_items if item.get("kept", True)]
        if kept:
            blocks.append("Relevant memory from earlier work (decisions, constraints, archives):\n"
                          + "\n".join(f"- {text}" for text in kept))
    carried: list[dict] = []
    if conversation is not None and conversation.archive_context and store is not None:
        archive_messages = archive_context(store, conversation.archive_context)
        blocks = [m["content"] for m in archive_messages if m["role"] == "system"] + blocks
        carried = [m for m in archive_messages if m["role"] != "system"]
    # system turns (``forge ask --system``) join the one system prompt: templates want a single one
    blocks += [t.content for t in turns if t.role is Role.SYSTEM and t.content]
    if blocks:
        system += "\n\n" + "\n\n".join(blocks)
    messages = [{"role": Role.SYSTEM.value, "content": system}, *carried]
    for t in turns:
        if t.status in REPLAYED and t.content and t.role is not Role.SYSTEM:
            messages.append({"role": t.role.value, "content": t.content})
    return messages


def archive_context(store, archive_id: str) -> list[dict]:
    """The archive a continued conversation starts from, as messages for the model."""
    from forge_tui.compression.service import CompressionError, archive_context_messages, load_archive

    try:
        return archive_context_messages(load_archive(store, archive_id))
    except CompressionError:
        return []
