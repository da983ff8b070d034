"""The controller's system prompts: a conversation's own and its project's default.

Mixed into ``SessionController``. A new conversation may get its prompt before its first
message: it is kept on the conversation and stored with it. The project default is read
when a project comes into view (start-up, opening, a new conversation) and reaches every
conversation of the project that has no prompt of its own; ``build_messages`` puts the
one in force first in the system message.
"""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any, Callable

from pymongo.errors import PyMongoError

from forge_tui.domain.models import Conversation, SystemPrompt, clean_system_prompt, effective_system_prompt
from forge_tui.session import events as ev
from forge_tui.store.repository import Store


class PromptCommands:
    """Mixed into ``SessionController`` (which defines what is declared here)."""

    _conversation: Conversation
    _saved: bool
    _project: str
    _store: Store | None
    _project_prompt: str | None
    emit: Callable[[ev.Event], None]
    _submit: Callable[..., Future[Any] | None]
    _publish: Callable[[], None]
    _list: Callable[[], None]
    _require_store: Callable[[], Store]
    _count_tokens: Callable[[], None]

    def set_system_prompt(self, text: str | None, conv_id: str | None = None) -> Future[Any] | None:
        """Give ``conv_id`` (default: the open conversation, stored or not yet) its own system prompt;
        ``None`` or blank clears it (it then follows its project's default)."""
        return self._submit(self._set_system_prompt, text, conv_id)

    def set_project_system_prompt(self, text: str | None, project: str | None = None) -> Future[Any] | None:
        """Set (``None``/blank: clear) the default system prompt of ``project`` (default: the current one)."""
        return self._submit(self._set_project_system_prompt, text, project)

    def _system_prompt(self) -> SystemPrompt | None:
        """What the open conversation runs under."""
        return effective_system_prompt(self._conversation, self._project_prompt)

    def _load_project_prompt(self) -> None:
        """Read the current project's default (kept when the store does not answer: the next view retries)."""
        if self._store is None:
            return
        try:
            self._project_prompt = self._store.project_system_prompt(self._project)
        except PyMongoError:
            return

    def _set_system_prompt(self, text: str | None, conv_id: str | None) -> None:
        try:
            prompt = clean_system_prompt(text)
        except ValueError as exc:
            self.emit(ev.Notice(f"System prompt not saved: {exc}.", "warning"))
            return
        target = conv_id or self._conversation.id
        current = target == self._conversation.id
        project = self._project
        if not current or self._saved:
            changed = self._require_store().set_conversation_system_prompt(target, prompt)
            if changed is None:
                self.emit(ev.Notice("That conversation is not in the store (yet): try again in a moment.", "warning"))
                return
            project = changed.project
            self._list()
        if current:
            self._conversation.system_prompt = prompt
            self._count_tokens()
            self._publish()
        self.emit(ev.SystemPromptSet(target, "conversation", project, prompt))

    def _set_project_system_prompt(self, text: str | None, project: str | None) -> None:
        project = project or self._project
        try:
            prompt = self._require_store().set_project_system_prompt(project, text)
        except ValueError as exc:
            self.emit(ev.Notice(f"Project system prompt not saved: {exc}.", "warning"))
            return
        if project == self._project:
            self._project_prompt = prompt
            self._count_tokens()
            self._publish()
        self.emit(ev.SystemPromptSet(self._conversation.id, "project", project, prompt))
