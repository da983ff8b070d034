"""The controller's conversation management: rename, delete (to the trash), restore.

Mixed into ``SessionController``. Deleting never removes anything: the store moves
the conversation to ``TRASH_PROJECT`` (its turns leave search and retrieval) and a
restore within ``TRASH_KEEP_DAYS`` days brings it back.
"""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any, Callable

from forge_tui.domain.models import TRASH_KEEP_DAYS, TRASH_PROJECT, Conversation
from forge_tui.session import events as ev
from forge_tui.session.state import Activity, SessionState
from forge_tui.store.repository import Store


class ManageCommands:
    """Mixed into ``SessionController`` (which defines what is declared here)."""

    state: SessionState
    _conversation: Conversation
    _saved: bool
    _activity: Activity
    emit: Callable[[ev.Event], None]
    _submit: Callable[..., Future[Any] | None]
    _publish: Callable[[], None]
    _list: Callable[[], None]
    _require_store: Callable[[], Store]
    _new_conversation: Callable[[str | None], None]

    def rename_conversation(self, title: str, conv_id: str | None = None) -> Future[Any] | None:
        """Retitle ``conv_id`` (default: the open conversation)."""
        return self._submit(self._rename, title, conv_id)

    def delete_conversation(self, conv_id: str | None = None) -> Future[Any] | None:
        """Move ``conv_id`` (default: the open conversation) to the trash; an open one gives way to a new one."""
        return self._submit(self._delete, conv_id)

    def restore_conversation(self, conv_id: str) -> Future[Any] | None:
        return self._submit(self._restore, conv_id)

    def list_trash(self) -> Future[Any] | None:
        return self._submit(self._list_trash)

    def _target(self, conv_id: str | None, verb: str) -> str | None:
        if conv_id:
            return conv_id
        if self._saved:
            return self._conversation.id
        self.emit(ev.Notice(f"Nothing to {verb} yet: this conversation is not stored until its first message.",
                            "warning"))
        return None

    def _rename(self, title: str, conv_id: str | None) -> None:
        target = self._target(conv_id, "rename")
        if target is None:
            return
        try:
            renamed = self._require_store().rename_conversation(target, title)
        except ValueError as exc:
            self.emit(ev.Notice(f"Not renamed: {exc}.", "warning"))
            return
        if renamed is None:
            self.emit(ev.Notice("That conversation is not in the store (yet): try again in a moment.", "warning"))
            return
        if target == self._conversation.id:
            self._conversation.title = renamed.title
            self._publish()
        self._list()
        self.emit(ev.Notice(f"Renamed to '{renamed.title}'."))

    def _delete(self, conv_id: str | None) -> None:
        target = self._target(conv_id, "delete")
        if target is None:
            return
        current = target == self._conversation.id
        if current and self._activity != "idle":
            self.emit(ev.Notice(f"A {self._activity} is running here: press Esc to cancel it first.", "warning"))
            return
        trashed = self._require_store().trash_conversation(target)
        if trashed is None:
            self.emit(ev.Notice("That conversation is not in the store (yet): try again in a moment.", "warning"))
            return
        if current:
            self._new_conversation(trashed.trashed_from)
        self._list()
        self.emit(ev.Notice(f"Moved '{trashed.title}' to the trash: 'Restore from trash' in the palette brings it "
                            f"back for {TRASH_KEEP_DAYS} days."))

    def _restore(self, conv_id: str) -> None:
        restored = self._require_store().restore_conversation(conv_id)
        if restored is None:
            self.emit(ev.Notice("That conversation is no longer in the store.", "warning"))
            return
        self._list()
        self.emit(ev.Notice(f"Restored '{restored.title}' into project '{restored.project}'."))

    def _list_trash(self) -> None:
        convs = self._require_store().list_conversations(project=TRASH_PROJECT)
        convs.sort(key=lambda c: c.trashed_at or c.updated_at, reverse=True)
        self.emit(ev.TrashListed(convs))
