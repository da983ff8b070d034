"""Rename, delete and restore conversations from the palette (and the list).

Mixed into ``MainScreen``. The target is the conversation highlighted in the
list when the list has focus, otherwise the open one. Deleting asks first
(``ConfirmModal``) and moves the conversation to the trash; "Restore from trash"
lists the trash (``TrashListed``) in ``TrashPicker``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Awaitable, Callable

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from forge_tui.domain.models import TRASH_KEEP_DAYS, Conversation, utcnow
from forge_tui.session import events as ev
from forge_tui.session.state import SessionState
from forge_tui.ui.screens.confirm import ConfirmModal

if TYPE_CHECKING:
    from forge_tui.session.controller import SessionController
    from forge_tui.ui.widgets.sidebar import ConversationList


class RenamePrompt(ModalScreen[str | None]):
    """Asks for a conversation's new title (prefilled with the old one)."""

    BINDINGS = [Binding("escape", "dismiss_prompt", "Close", id="forge.modal.close")]

    def __init__(self, title: str) -> None:
        super().__init__(classes="forge-modal")
        self.old_title = title

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-box", id="rename-prompt"):
            yield Label("Rename conversation", classes="modal-title")
            yield Input(value=self.old_title, id="rename-input", select_on_focus=True)
            yield Static("Enter renames · Esc closes", classes="modal-help")
            yield Static("", id="rename-error", classes="modal-error", markup=False)

    @on(Input.Submitted, "#rename-input")
    def submitted(self, event: Input.Submitted) -> None:
        title = " ".join(event.value.split())
        if not title:
            self.query_one("#rename-error", Static).update("The title is empty: type a name, or Esc to keep it.")
            return
        self.dismiss(title)

    def action_dismiss_prompt(self) -> None:
        self.dismiss(None)


class TrashPicker(ModalScreen[str | None]):
    """The trash, newest deletion first; Enter restores the highlighted conversation (returns its id)."""

    BINDINGS = [Binding("escape", "dismiss_picker", "Close", id="forge.modal.close")]

    def __init__(self, conversations: list[Conversation]) -> None:
        super().__init__(classes="forge-modal")
        self.conversations = conversations

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-box", id="trash-picker"):
            yield Label("Restore from trash", classes="modal-title")
            yield OptionList(*[self._option(c) for c in self.conversations], id="trash-options")
            yield Static(f"Deleted conversations stay here {TRASH_KEEP_DAYS} days.\nEnter restores · Esc closes",
                         classes="modal-help")

    @staticmethod
    def _option(conv: Conversation) -> Option:
        text = Text(conv.title or "(untitled)", style="bold")
        text.append(f"\n    from {conv.trashed_from or '?'} · {conv.turn_count} turns · {_deleted(conv)}",
                    style="italic")
        return Option(text, id=conv.id)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    def action_dismiss_picker(self) -> None:
        self.dismiss(None)


def _deleted(conv: Conversation) -> str:
    """When it was deleted and how long it stays, in whole days (e.g. "deleted 2 days ago, 28 days left")."""
    if conv.trashed_at is None:
        return "deleted"
    days = max(0, (utcnow() - conv.trashed_at).days)
    ago = "today" if days == 0 else "1 day ago" if days == 1 else f"{days} days ago"
    return f"deleted {ago}, {max(0, TRASH_KEEP_DAYS - days)} days left"


class ManageHandlers:
    """Needs ``self.controller``, ``self.state``, ``self.app``, ``self.notify`` and the conversation list."""

    controller: "SessionController"
    state: SessionState
    conversations: list[Conversation]
    current_id: str | None
    conversation_list: "ConversationList"

    def manage_handlers(self) -> dict[type, Callable[[Any], Awaitable[None] | None]]:
        return {ev.TrashListed: self._trash_listed}

    def _managed(self) -> Conversation | None:
        """The highlighted conversation when the list has focus, else the open one (if stored)."""
        wanted = self.current_id
        conv_list = self.conversation_list
        if conv_list.has_focus and conv_list.highlighted_option is not None:
            wanted = conv_list.highlighted_option.id
        found = next((c for c in self.conversations if c.id == wanted), None)
        if found is None:
            self.notify("Nothing to change yet: open a conversation, or highlight one in the list (ctrl+o).",
                        severity="warning")
        return found

    def action_rename_conversation(self) -> None:
        conv = self._managed()
        if conv is None:
            return

        def chosen(title: str | None) -> None:
            if title and title != conv.title:
                self.controller.rename_conversation(title, conv.id)

        self.app.push_screen(RenamePrompt(conv.title), chosen)

    def action_delete_conversation(self) -> None:
        conv = self._managed()
        if conv is None:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.controller.delete_conversation(conv.id)

        self.app.push_screen(ConfirmModal(
            "Delete conversation",
            f"Move '{conv.title}' ({conv.turn_count} turns) to the trash? Its turns leave search; "
            f"'Restore from trash' brings it back for {TRASH_KEEP_DAYS} days.",
            yes="Move to trash", no="Keep"), answered)

    def action_restore_from_trash(self) -> None:
        self.controller.list_trash()

    def _trash_listed(self, event: ev.TrashListed) -> None:
        if not event.conversations:
            self.notify("The trash is empty.")
            return

        def chosen(conv_id: str | None) -> None:
            if conv_id:
                self.controller.restore_conversation(conv_id)

        self.app.push_screen(TrashPicker(list(event.conversations)), chosen)
