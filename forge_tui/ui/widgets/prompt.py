"""The multi-line prompt: Enter sends, Shift+Enter / ctrl+j inserts a newline.

The conversation scrolls from here, so reading back never means leaving the
prompt: PageUp/PageDown always scroll it (the prompt is at most a few lines
high, its own page moves are not missed); Home/End scroll to the top/bottom
only while the prompt is empty — with text in it they move the cursor as
usual — and ctrl+Home/ctrl+End scroll whatever the prompt holds.

Huge pastes are not put into the editor (a 1 MB line makes wrapping slow):
they become a placeholder ``[paste #N: 1,048,576 chars]`` whose text is put
back when the prompt is sent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.widgets import TextArea

#: pastes longer than this become a placeholder in the editor
PASTE_INLINE_LIMIT = 5_000
_PLACEHOLDER = re.compile(r"\[paste #(\d+): [\d,]+ chars\]")
#: the key that sends (handled before TextArea sees it, so it is not a binding); the help screen lists it
SEND_KEY = "enter"


class PromptInput(TextArea):
    BINDINGS = [
        Binding("pageup", "scroll_conversation('page_up')", "Page up", show=False, id="forge.scroll.page_up",
                tooltip="Scroll the conversation up a page (the prompt keeps the focus)"),
        Binding("pagedown", "scroll_conversation('page_down')", "Page down", show=False,
                id="forge.scroll.page_down", tooltip="Scroll the conversation down a page"),
        Binding("home", "home_or_top", "First turn", show=False, id="forge.scroll.home",
                tooltip="Scroll to the first turn while the prompt is empty (with text: cursor to line start)"),
        Binding("end", "end_or_bottom", "Last turn", show=False, id="forge.scroll.end",
                tooltip="Scroll to the last turn while the prompt is empty (with text: cursor to line end)"),
        Binding("ctrl+home", "scroll_conversation('top')", "First turn", show=False, id="forge.scroll.top",
                tooltip="Scroll to the first turn, whatever the prompt holds"),
        Binding("ctrl+end", "scroll_conversation('bottom')", "Last turn", show=False, id="forge.scroll.bottom",
                tooltip="Scroll to the last turn, whatever the prompt holds"),
        Binding("shift+enter,ctrl+j", "newline", "New line", show=False, id="forge.prompt.newline",
                tooltip="Insert a new line in the prompt"),
    ]

    @dataclass
    class ScrollRequested(Message):
        """The conversation should scroll: ``where`` is page_up, page_down, top or bottom."""

        prompt: "PromptInput"
        where: str

        @property
        def control(self) -> "PromptInput":
            return self.prompt

    @dataclass
    class Submitted(Message):
        prompt: "PromptInput"
        text: str

        @property
        def control(self) -> "PromptInput":
            return self.prompt

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("soft_wrap", True)
        kwargs.setdefault("show_line_numbers", False)
        kwargs.setdefault("tab_behavior", "focus")
        super().__init__(**kwargs)
        self._pastes: dict[int, str] = {}

    async def _on_key(self, event: events.Key) -> None:
        if event.key == SEND_KEY:
            event.stop()
            event.prevent_default()
            self.post_message(self.Submitted(self, self.full_text))
            return
        await super()._on_key(event)

    def action_newline(self) -> None:
        self.insert("\n")

    def action_scroll_conversation(self, where: str) -> None:
        self.post_message(self.ScrollRequested(self, where))

    def action_home_or_top(self) -> None:
        if self.text:
            self.action_cursor_line_start()
        else:
            self.action_scroll_conversation("top")

    def action_end_or_bottom(self) -> None:
        if self.text:
            self.action_cursor_line_end()
        else:
            self.action_scroll_conversation("bottom")

    async def _on_paste(self, event: events.Paste) -> None:
        if len(event.text) <= PASTE_INLINE_LIMIT:
            await super()._on_paste(event)
            return
        event.stop()
        event.prevent_default()
        number = len(self._pastes) + 1
        self._pastes[number] = event.text
        self.insert(f"[paste #{number}: {len(event.text):,} chars]")

    @property
    def full_text(self) -> str:
        """The prompt with every paste placeholder replaced by the pasted text."""
        return _PLACEHOLDER.sub(lambda m: self._pastes.get(int(m.group(1)), m.group(0)), self.text)

    def restore_text(self, text: str) -> None:
        """Put text the session did not send back at the end of the prompt (a long one as a paste
        placeholder, so it is sent whole again and the editor stays fast)."""
        if self.text.strip():
            self.move_cursor(self.document.end)
            self.insert("\n\n")
        else:
            self.clear()
        if len(text) > PASTE_INLINE_LIMIT:
            number = len(self._pastes) + 1
            self._pastes[number] = text
            text = f"[paste #{number}: {len(text):,} chars]"
        self.insert(text)

    def clear_prompt(self) -> None:
        self.clear()
        self._pastes.clear()
