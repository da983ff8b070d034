"""Set, change or clear a system prompt from the palette: the open (or highlighted) conversation's
own, or its project's default.

Mixed into ``MainScreen``. ``SystemPromptEditor`` is a multi-line editor: ctrl+s or Save stores
the text, Clear removes it (a conversation then follows its project's default), Esc leaves
everything as it was. The change goes to the controller; ``SystemPromptSet`` confirms it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Awaitable, Callable

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static, TextArea

from forge_tui.domain.models import SYSTEM_PROMPT_MAX_CHARS, Conversation, SystemPrompt
from forge_tui.session import events as ev
from forge_tui.session.state import SessionState

if TYPE_CHECKING:
    from forge_tui.session.controller import SessionController
    from forge_tui.ui.widgets.sidebar import ConversationList

#: how much of a prompt a one-line mention shows
BRIEF_CHARS = 60


def brief(text: str, limit: int = BRIEF_CHARS) -> str:
    """The first non-blank line of ``text``, cut to ``limit`` characters."""
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    return line if len(line) <= limit else line[: limit - 1] + "…"


def prompt_line(prompt: SystemPrompt | None) -> str:
    """The sidebar's line: the first line of the prompt in force and the level it comes from
    ("" when none of the user's is: the sidebar then leaves the section out)."""
    if prompt is None:
        return ""
    origin = "conversation" if prompt.level == "conversation" else "project default"
    return f"{origin} · {brief(prompt.text, 80)}"


@dataclass(frozen=True)
class PromptEdit:
    """The editor's answer: the new text, or ``None`` to clear."""

    text: str | None


class SystemPromptEditor(ModalScreen[PromptEdit | None]):
    """A multi-line editor for one system prompt; returns ``PromptEdit`` or ``None`` (cancelled)."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="forge.modal.close"),
        Binding("ctrl+s", "save", "Save", id="forge.modal.save", priority=True),
    ]

    def __init__(self, title: str, about: str, text: str) -> None:
        super().__init__(classes="forge-modal")
        self.title_text, self.about, self.text = title, about, text

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-box", id="system-prompt-editor"):
            yield Label(self.title_text, classes="modal-title")
            yield Static(self.about, id="system-prompt-about", markup=False)
            yield TextArea(self.text, id="system-prompt-text", soft_wrap=True, show_line_numbers=False)
            yield Static("", id="system-prompt-error", classes="modal-error", markup=False)
            with Horizontal(classes="modal-buttons"):
                yield Button("Save", id="save", variant="primary")
                yield Button("Clear", id="clear", variant="warning")
                yield Button("Cancel", id="cancel")
            yield Static("ctrl+s saves · Esc cancels", classes="modal-help")

    def on_mount(self) -> None:
        self.query_one(TextArea).focus()

    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        text = self.query_one(TextArea).text
        if len(text.strip()) > SYSTEM_PROMPT_MAX_CHARS:
            self.query_one("#system-prompt-error", Static).update(
                f"{len(text.strip()):,} characters: keep it under {SYSTEM_PROMPT_MAX_CHARS:,}.")
            return
        self.dismiss(PromptEdit(text.strip() or None))

    @on(Button.Pressed, "#clear")
    def clear(self) -> None:
        self.dismiss(PromptEdit(None))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class PromptHandlers:
    """Needs ``self.controller``, ``self.state``, ``self.app``, ``self.notify`` and the conversation list."""

    controller: "SessionController"
    state: SessionState
    conversations: list[Conversation]
    current_id: str | None
    conversation_list: "ConversationList"

    def prompt_handlers(self) -> dict[type, Callable[[Any], Awaitable[None] | None]]:
        return {ev.SystemPromptSet: self._system_prompt_set}

    def _prompted(self) -> Conversation | None:
        """The conversation highlighted in the list when the list has focus, else the open one
        (which may have no message yet: its prompt is stored with its first one)."""
        conv_list = self.conversation_list
        if conv_list.has_focus and conv_list.highlighted_option is not None:
            wanted = conv_list.highlighted_option.id
            found = next((c for c in self.conversations if c.id == wanted), None)
            if found is not None:
                return found
        return self.state.conversation

    def action_set_system_prompt(self) -> None:
        conv = self._prompted()
        if conv is None:
            return
        project_prompt = self.state.project_system_prompt if conv.project == self.state.project else None
        follows = (f"Empty or Clear: the project's default, \"{brief(project_prompt)}\""
                   if project_prompt else "Empty or Clear: Forge's built-in prompt")
        about = f"For '{brief(conv.title, 40)}' only, in project '{conv.project}'. {follows}."

        def chosen(edit: PromptEdit | None) -> None:
            if edit is not None and edit.text != conv.system_prompt:
                self.controller.set_system_prompt(edit.text, conv.id)

        self.app.push_screen(SystemPromptEditor("System prompt · this conversation", about,
                                                conv.system_prompt or ""), chosen)

    def action_set_project_system_prompt(self) -> None:
        project = self.state.project
        current = self.state.project_system_prompt

        def chosen(edit: PromptEdit | None) -> None:
            if edit is not None and edit.text != current:
                self.controller.set_project_system_prompt(edit.text, project)

        about = (f"The default for every conversation of project '{project}' that has no prompt of its own. "
                 "Empty or Clear: Forge's built-in prompt.")
        self.app.push_screen(SystemPromptEditor(f"System prompt · project {project}", about, current or ""), chosen)

    def _system_prompt_set(self, event: ev.SystemPromptSet) -> None:
        if event.level == "project":
            done = "set" if event.text else "cleared"
            self.notify(f"Default system prompt of project '{event.project}' {done}.")
            return
        title = next((c.title for c in self.conversations if c.id == event.conversation_id), None)
        whose = "this conversation" if event.conversation_id == self.current_id or title is None else f"'{title}'"
        self.notify(f"System prompt of {whose} set." if event.text else
                    f"System prompt of {whose} cleared: it follows the project's default.")
