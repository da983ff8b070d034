"""System prompts in the store, mixed into ``Store``: a conversation's own (a field of its
document) and a project's default (the ``projects`` collection, one document per project name).

A conversation without its own prompt follows its project's default; clearing either is
writing ``None`` (a blank text clears too). Lengths are checked by ``clean_system_prompt``.
"""

from __future__ import annotations

from pymongo.collection import Collection

from forge_tui.domain.models import (
    Conversation,
    SystemPrompt,
    clean_system_prompt,
    effective_system_prompt,
    utcnow,
)
from forge_tui.store.codec import conversation_from_doc


class SystemPrompts:
    """Needs ``self._conversations`` and ``self._project_settings`` (the collections)."""

    _conversations: Collection
    _project_settings: Collection

    def project_system_prompt(self, project: str) -> str | None:
        doc = self._project_settings.find_one({"_id": project}, {"system_prompt": 1})
        return (doc or {}).get("system_prompt") or None

    def set_project_system_prompt(self, project: str, text: str | None) -> str | None:
        """Set (or, with a blank ``text``, clear) ``project``'s default; returns what is stored.
        A prompt that is too long is a ``ValueError`` and changes nothing."""
        prompt = clean_system_prompt(text)
        if prompt is None:
            self._project_settings.update_one({"_id": project}, {"$unset": {"system_prompt": ""},
                                                                "$set": {"updated_at": utcnow()}})
        else:
            self._project_settings.update_one({"_id": project}, {"$set": {"system_prompt": prompt,
                                                                         "updated_at": utcnow()}}, upsert=True)
        return prompt

    def set_conversation_system_prompt(self, conversation_id: str, text: str | None) -> Conversation | None:
        """Set (or clear: it then follows its project's default) a conversation's own prompt.
        ``None`` if there is no such conversation; a prompt that is too long is a ``ValueError``."""
        prompt = clean_system_prompt(text)
        change = {"$set": {"system_prompt": prompt}} if prompt else {"$unset": {"system_prompt": ""}}
        self._conversations.update_one({"_id": conversation_id}, change)
        doc = self._conversations.find_one({"_id": conversation_id})
        return conversation_from_doc(doc) if doc else None

    def system_prompt_for(self, conversation: Conversation) -> SystemPrompt | None:
        """The prompt ``conversation`` runs under: its own, else its project's, else ``None``."""
        if conversation.system_prompt:
            return effective_system_prompt(conversation, None)
        return effective_system_prompt(conversation, self.project_system_prompt(conversation.project))
