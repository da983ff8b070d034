"""Copy, regenerate, edit and browse versions: the main screen's side of it.

Mixed into ``MainScreen``. A turn is the focused one (alt+up moves into the
conversation; up/down between turns) or, from the prompt, the last reply (the
last message for an edit). Copies go to the terminal's clipboard
(``ui.clipboard``); branch changes go to the controller, which answers with
``BranchShown`` / ``BranchesChanged``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Awaitable, Callable

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList, Static
from textual.widgets.option_list import Option

from forge_tui.domain.models import Role, Turn
from forge_tui.session import events as ev
from forge_tui.session.state import SessionState
from forge_tui.ui.clipboard import copy_text
from forge_tui.ui.widgets.conversation import ConversationView, TurnView
from forge_tui.ui.widgets.prompt import PromptInput
from forge_tui.ui.widgets.turn_markdown import CodeCopyRequested

if TYPE_CHECKING:
    from forge_tui.session.controller import SessionController


class EditPrompt(ModalScreen[str | None]):
    """The message to edit, prefilled; Enter sends it as a new branch, Esc keeps the old one."""

    BINDINGS = [Binding("escape", "dismiss_prompt", "Close", id="forge.modal.close")]

    def __init__(self, text: str) -> None:
        super().__init__(classes="forge-modal")
        self.old_text = text

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-box", id="edit-prompt"):
            yield Label("Edit message", classes="modal-title")
            yield PromptInput(text=self.old_text, id="edit-input")
            yield Static("Enter sends it as a new branch (the old one is kept: ‹ › or alt+←/→ brings it back)\n"
                         "Shift+Enter / ctrl+j new line · Esc keeps the message as it was", classes="modal-help")
            yield Static("", id="edit-error", classes="modal-error", markup=False)

    def on_mount(self) -> None:
        editor = self.query_one(PromptInput)
        editor.focus()
        editor.move_cursor(editor.document.end)

    @on(PromptInput.Submitted, "#edit-input")
    def submitted(self, event: PromptInput.Submitted) -> None:
        event.stop()
        if not event.text.strip():
            self.query_one("#edit-error", Static).update("The message is empty: type the new text, or Esc.")
            return
        self.dismiss(event.text)

    def action_dismiss_prompt(self) -> None:
        self.dismiss(None)


class CodePicker(ModalScreen[int | None]):
    """A turn's code blocks; Enter copies the highlighted one (returns its index)."""

    BINDINGS = [Binding("escape", "dismiss_picker", "Close", id="forge.modal.close")]

    def __init__(self, blocks: list[str]) -> None:
        super().__init__(classes="forge-modal")
        self.blocks = blocks

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-box", id="code-picker"):
            yield Label("Copy code block", classes="modal-title")
            yield OptionList(*[Option(_block_label(n, code), id=str(n)) for n, code in enumerate(self.blocks)],
                             id="code-options")
            yield Static("Enter copies · Esc closes", classes="modal-help")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(int(event.option.id or 0))

    def action_dismiss_picker(self) -> None:
        self.dismiss(None)


def _block_label(index: int, code: str) -> str:
    lines = code.splitlines() or [""]
    first = lines[0].strip()
    first = first if len(first) <= 60 else first[:59] + "…"
    return f"{index + 1}. {first}  ({len(lines)} line{'s' if len(lines) != 1 else ''})"


class BranchHandlers:
    """Needs ``self.controller``, ``self.state``, ``self.app``, ``self.notify``, ``self.focused``,
    ``self.current_id`` and the conversation view."""

    controller: "SessionController"
    state: SessionState
    current_id: str | None
    conversation_view: ConversationView
    focused: Any
    app: Any
    notify: Callable[..., None]
    action_focus_prompt: Callable[[], None]

    def branch_handlers(self) -> dict[type, Callable[[Any], Awaitable[None] | None]]:
        return {ev.BranchShown: self._branch_shown, ev.BranchesChanged: self._branches_changed}

    # -- events ----------------------------------------------------------------------------
    async def _branch_shown(self, event: ev.BranchShown) -> None:
        take_focus = isinstance(self.focused, TurnView)
        view = self.conversation_view
        view.set_branches(event.branches)
        await view.show_branch(list(event.turns), event.focus_turn_id if take_focus else None)

    def _branches_changed(self, event: ev.BranchesChanged) -> None:
        self.conversation_view.set_branches(event.branches)

    # -- which turn ---------------------------------------------------------------------------
    def _focused_turn(self) -> Turn | None:
        return self.focused.turn if isinstance(self.focused, TurnView) else None

    def _last(self, role: Role) -> Turn | None:
        return next((t for t in reversed(self.conversation_view.turns) if t.role is role), None)

    def _turn_text(self, turn: Turn) -> str:
        """The turn's text as on screen now (a reply still streaming has more than its first piece)."""
        view = self.conversation_view.view_of(turn.id)
        return view.turn.content if view is not None else turn.content

    def _copy(self, text: str, what: str) -> None:
        copy_text(self.app, text, what, self.current_id)

    # -- actions (keys and palette) -------------------------------------------------------------
    def action_copy_last_reply(self) -> None:
        turn = self._focused_turn() or self._last(Role.ASSISTANT)
        if turn is None:
            self.notify("No reply to copy yet.", severity="warning")
            return
        self._copy(self._turn_text(turn), "the reply" if turn.role is Role.ASSISTANT else "the message")

    def action_copy_code_block(self) -> None:
        turn = self._focused_turn() or self._last(Role.ASSISTANT)
        view = self.conversation_view.view_of(turn.id) if turn is not None else None
        blocks = view.code_blocks() if view is not None else []
        if not blocks:
            self.notify("No code block in this turn.", severity="warning")
            return
        if len(blocks) == 1:
            self._copy(blocks[0], "the code block")
            return

        def chosen(index: int | None) -> None:
            if index is not None:
                self._copy(blocks[index], f"code block {index + 1}")

        self.app.push_screen(CodePicker(blocks), chosen)

    def action_regenerate_reply(self) -> None:
        turn = self._focused_turn()
        if turn is not None and turn.role is not Role.ASSISTANT:
            self.notify("Regenerate works on a reply of Forge's; edit a message of yours with e.", severity="warning")
            return
        self.controller.regenerate(turn.id if turn is not None else None)

    def action_edit_message(self) -> None:
        turn, turns = self._focused_turn(), self.conversation_view.turns
        if turn is not None and turn.role is not Role.USER and turn in turns:  # a reply: the message it answers
            turn = next((t for t in reversed(turns[:turns.index(turn)]) if t.role is Role.USER), None)
        turn = turn or self._last(Role.USER)
        if turn is None:
            self.notify("No message of yours to edit yet.", severity="warning")
            return
        if self.state.busy:
            self.notify(f"A {self.state.activity} is running: wait for it, or press Esc, before editing.",
                        severity="warning")
            return
        target = turn

        def edited(text: str | None) -> None:
            if text is not None:
                self.controller.edit_message(target.id, text)
                self.action_focus_prompt()  # the old turn's view goes: the reply comes in below

        self.app.push_screen(EditPrompt(target.content), edited)

    def action_previous_version(self) -> None:
        self._browse(-1)

    def action_next_version(self) -> None:
        self._browse(1)

    def _browse(self, step: int) -> None:
        # the nearest turn with versions at or above the focused one, else below it (from the prompt: the
        # last one that has any); else the focused turn or the last reply (the controller says it has one)
        view, focused = self.conversation_view, self._focused_turn()
        turns = view.turns
        end = turns.index(focused) + 1 if focused in turns else len(turns)
        turn = next((t for t in [*reversed(turns[:end]), *turns[end:]] if view.versions_of(t)), None)
        turn = turn or focused or self._last(Role.ASSISTANT)
        if turn is None:
            self.notify("Nothing to browse yet.", severity="warning")
            return
        self.controller.show_version(turn.id, step)

    def action_focus_turns(self) -> None:
        views = list(self.conversation_view.query(TurnView))
        if views:
            views[-1].focus()
            views[-1].scroll_visible(animate=False)

    # -- what a focused turn or a code block asks -------------------------------------------------
    def on_turn_view_copy_asked(self, message: TurnView.CopyAsked) -> None:
        turn = message.view.turn
        self._copy(turn.content, "the reply" if turn.role is Role.ASSISTANT else "the message")

    def on_turn_view_code_copy_asked(self, message: TurnView.CodeCopyAsked) -> None:
        self.action_copy_code_block()

    def on_turn_view_version_asked(self, message: TurnView.VersionAsked) -> None:
        self.controller.show_version(message.view.turn.id, message.step)

    def on_turn_view_regenerate_asked(self, message: TurnView.RegenerateAsked) -> None:
        self.action_regenerate_reply()

    def on_turn_view_edit_asked(self, message: TurnView.EditAsked) -> None:
        self.action_edit_message()

    def on_code_copy_requested(self, message: CodeCopyRequested) -> None:
        message.stop()
        self._copy(message.code, f"code block {message.number}")
