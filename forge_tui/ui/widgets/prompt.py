"""The multi-line prompt: Enter sends, Shift+Enter / ctrl+j inserts a newline.

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


class PromptInput(TextArea):
    BINDINGS = [
        Binding("shift+enter,ctrl+j", "newline", "Newline", show=False, id="forge.prompt.newline"),
    ]

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
        if event.key == "enter":
            event.stop()
            event.prevent_default()
            self.post_message(self.Submitted(self, self.full_text))
            return
        await super()._on_key(event)

    def action_newline(self) -> None:
        self.insert("\n")

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
