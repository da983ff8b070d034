"""A turn's Markdown: every fenced code block carries a small "copy" button.

The blocks are Textual's own (``MarkdownFence``), so what is copied is exactly
the code on screen, and text selection with the mouse works as in any Markdown.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual import events
from textual.app import ComposeResult
from textual.message import Message
from textual.widgets import Label, Markdown, Static
from textual.widgets.markdown import MarkdownFence


class FenceCopy(Static):
    """The button: a click asks for its block's code to be copied."""

    ALLOW_SELECT = False

    def __init__(self) -> None:
        super().__init__("⧉ copy", classes="fence-copy", markup=False)
        self.tooltip = "Copy this code block (y on a focused turn)"

    def on_click(self, event: events.Click) -> None:
        event.stop()
        if event.x < self.size.width - len(str(self.render())) - 1:
            return  # the row's empty left part: only the label itself copies
        fence = self.parent
        if isinstance(fence, CopyableFence):
            self.post_message(CodeCopyRequested(fence.code, fence.number()))


@dataclass
class CodeCopyRequested(Message):
    """A code block's copy button was clicked."""

    code: str
    number: int


class CopyableFence(MarkdownFence):
    """``MarkdownFence`` with a copy button in its top-right corner."""

    def compose(self) -> ComposeResult:
        yield FenceCopy()
        yield Label(self._highlighted_code, id="code-content", expand=True)

    def number(self) -> int:
        """1-based position among the code blocks of its Markdown."""
        markdown = next((a for a in self.ancestors if isinstance(a, Markdown)), None)
        if markdown is None:
            return 1
        fences = list(markdown.query(CopyableFence))
        return fences.index(self) + 1 if self in fences else 1


class TurnMarkdown(Markdown):
    BLOCKS = {**Markdown.BLOCKS, "fence": CopyableFence, "code_block": CopyableFence}

    def code_blocks(self) -> list[str]:
        """The code of every fenced block, in order."""
        return [fence.code for fence in self.query(CopyableFence)]
