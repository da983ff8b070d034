"""Search screen: a query box and results with project, conversation, role,
date and a highlighted snippet. Choosing a result returns
``(conversation_id, message_id)``; the main screen opens the conversation at that turn.

Results answer the keyboard wherever the focus is: in the list, Enter opens the
highlighted one; in the query box, ↑/↓ move the highlight and Enter opens it
(a changed query searches again instead).

The screen never searches itself: it posts ``QueryEntered``; the main screen
asks the controller, and results come back through ``show_results``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from forge_tui.session import events as ev


def hit_prompt(hit: dict[str, Any]) -> Text:
    text = Text()
    date = str(hit.get("created_at") or "")[:10]
    text.append(f"{hit.get('project', '?')}", style="bold")
    text.append(" · ")
    text.append(hit.get("conversation_title") or str(hit.get("conversation_id", ""))[:8], style="italic")
    text.append(f" · {hit.get('role', '?')}", style="dim")
    if date:
        text.append(f" · {date}", style="dim")
    snippet = Text(" ".join(str(hit.get("snippet", "")).split("\n")) or "(no text)")
    for start, end in hit.get("spans") or []:
        snippet.stylize("bold reverse", int(start), int(end))
    text.append("\n  ")
    text.append_text(snippet)
    return text


class SearchScreen(ModalScreen[tuple[str, str] | None]):
    BINDINGS = [
        Binding("escape", "dismiss_search", "Close", id="forge.modal.close"),
        Binding("down", "move_highlight(1)", "Next result", show=False, id="forge.search.next"),
        Binding("up", "move_highlight(-1)", "Previous result", show=False, id="forge.search.previous"),
    ]

    @dataclass
    class QueryEntered(Message):
        screen: "SearchScreen"
        query: str

        @property
        def control(self) -> "SearchScreen":
            return self.screen

    def __init__(self, query: str = "") -> None:
        super().__init__(classes="forge-modal", id="search-screen")
        self.query_text = query
        self.hits: list[dict[str, Any]] = []

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-box", id="search-box"):
            yield Label("Search all conversations", classes="modal-title")
            yield Input(value=self.query_text, placeholder="words or a half-remembered idea, then Enter",
                        id="search-input")
            yield Static("", id="search-status", classes="modal-help", markup=False)
            yield OptionList(id="search-results")
            yield Static("Enter opens the highlighted result at its turn (↑/↓ from the query box too) · Esc closes",
                         classes="modal-help")

    @on(Input.Submitted, "#search-input")
    def submitted(self, event: Input.Submitted) -> None:
        query = event.value.strip()
        if not query:
            return
        results = self.query_one("#search-results", OptionList)
        if query == self.query_text and self.hits and results.highlighted is not None:
            self._open(results.highlighted)  # the results of this very query are on screen
            return
        self.query_text = query
        self.query_one("#search-status", Static).update(f"Searching for “{query}”…")
        self.post_message(self.QueryEntered(self, query))

    def show_results(self, results_event: ev.SearchResults) -> None:
        if results_event.query and results_event.query != self.query_text:
            return  # an answer to an older query
        self.hits = list(results_event.hits)
        results = self.query_one("#search-results", OptionList)
        results.clear_options()
        results.add_options([Option(hit_prompt(h), id=str(i)) for i, h in enumerate(self.hits)])
        status = f"{len(self.hits)} result(s)"
        notes = results_event.notes
        if notes:
            status += " · " + " · ".join(notes)
        if results_event.error:
            status = results_event.error
        self.query_one("#search-status", Static).update(status)
        if self.hits:
            results.highlighted = 0
            results.focus()

    @on(OptionList.OptionSelected, "#search-results")
    def chosen(self, event: OptionList.OptionSelected) -> None:
        self._open(int(event.option.id or 0))

    def _open(self, index: int) -> None:
        hit = self.hits[index]
        self.dismiss((hit["conversation_id"], hit["message_id"]))

    def action_move_highlight(self, step: int) -> None:
        results = self.query_one("#search-results", OptionList)
        if not self.hits:
            return
        current = results.highlighted if results.highlighted is not None else -step
        results.highlighted = max(0, min(len(self.hits) - 1, current + step))

    def action_dismiss_search(self) -> None:
        self.dismiss(None)
