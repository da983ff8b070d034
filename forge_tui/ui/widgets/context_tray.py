"""Context offered to a new or continued conversation (issue 5): relevant
decisions, constraints and archive excerpts, each with a checkbox. Unticking
drops an item; the tray posts ``Kept`` with the sources still ticked."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Label, SelectionList
from textual.widgets.selection_list import Selection

TEXT_WIDTH = 70


def item_prompt(item: dict[str, Any]) -> Text:
    text = Text()
    text.append(f"{item.get('kind', '?')}", style="bold")
    why = item.get("why") or item.get("project", "?")  # project · date · how it matched, score
    text.append(f" · {why} · {item.get('tokens', 0)} tok  ", style="dim")
    body = " ".join(str(item.get("text", "")).split())
    text.append(body if len(body) <= TEXT_WIDTH else body[: TEXT_WIDTH - 1] + "…")
    return text


class ContextTray(Vertical):
    DEFAULT_CLASSES = "context-tray"

    @dataclass
    class Kept(Message):
        tray: "ContextTray"
        sources: list[str]

        @property
        def control(self) -> "ContextTray":
            return self.tray

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.items: list[dict[str, Any]] = []
        self._kept: list[str] = []

    def compose(self) -> ComposeResult:
        yield Label("", id="context-title", classes="section-title")
        yield SelectionList[str](id="context-items")

    def offer(self, items: list[dict[str, Any]]) -> None:
        """Show retrieved items (``ContextOffered.items``: ContextItem fields + ``kept``)."""
        self.items = list(items)
        self._kept = [str(i.get("source", n)) for n, i in enumerate(self.items) if i.get("kept", True)]
        selections = self.query_one(SelectionList)
        selections.clear_options()
        selections.add_options([Selection(item_prompt(i), str(i.get("source", n)), bool(i.get("kept", True)))
                                for n, i in enumerate(self.items)])
        self._title()
        self.set_class(bool(self.items), "-visible")

    def _title(self) -> None:
        kept = set(self.query_one(SelectionList).selected)
        tokens = sum(int(i.get("tokens", 0)) for i in self.items if str(i.get("source")) in kept)
        self.query_one("#context-title", Label).update(
            f"Context offered: {len(kept)}/{len(self.items)} items, {tokens:,} tokens · "
            "space drops an item")

    def on_selection_list_selected_changed(self, event: SelectionList.SelectedChanged) -> None:
        event.stop()
        self._title()
        kept = list(event.selection_list.selected)
        if sorted(kept) != sorted(self._kept):  # a user change, not the initial ticks
            self._kept = kept
            self.post_message(self.Kept(self, kept))

    def clear(self) -> None:
        self.offer([])
