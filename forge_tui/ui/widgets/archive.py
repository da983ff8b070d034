"""The archive preview pane (issue 3): the YAML while the archive is generated,
then the validated archive, highlighted and scrollable, with its token counts.
Hidden until toggled (f3) or until a compression starts."""

from __future__ import annotations

from typing import Any

from rich.syntax import Syntax
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Label, Static

#: characters of streamed YAML kept on screen while generating
STREAM_TAIL = 6_000


class ArchivePane(VerticalScroll):
    DEFAULT_CLASSES = "archive-pane"

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.archive_id: str | None = None
        self.state = "empty"  # empty | streaming | ready | failed
        self._buffer: list[str] = []

    def compose(self) -> ComposeResult:
        yield Label("Archive", id="archive-title", classes="section-title")
        yield Static("No archive yet for this conversation. f5 compresses it.", id="archive-body",
                     classes="dim-hint", markup=False)

    def _set(self, title: str, body, hint: bool = False) -> None:
        self.query_one("#archive-title", Label).update(title)
        static = self.query_one("#archive-body", Static)
        static.set_class(hint, "dim-hint")
        static.update(body)

    def started(self, payload: dict[str, Any]) -> None:
        self.state, self.archive_id, self._buffer = "streaming", None, []
        self.add_class("-visible")
        mode = payload.get("mode", "default")
        self._set(f"Archive · compressing ({mode})…", "Waiting for the model…", hint=True)

    def chunk(self, text: str) -> None:
        if self.state != "streaming":
            return
        self._buffer.append(text)
        streamed = "".join(self._buffer)
        self._set("Archive · generating YAML…", streamed[-STREAM_TAIL:])
        self.scroll_end(animate=False)

    def ready(self, payload: dict[str, Any]) -> None:
        self.state = "ready"
        self.archive_id = payload.get("archive_id")
        self.add_class("-visible")
        src, arc = payload.get("tokens_source", 0), payload.get("tokens_archive", 0)
        parts = [f"Archive {str(self.archive_id or '')[:8]}", f"{src:,} → {arc:,} tokens"]
        if payload.get("mode"):
            parts.append(str(payload["mode"]))
        if payload.get("dropped"):
            parts.append(f"{len(payload['dropped'])} item(s) left out for the budget")
        title = " · ".join(parts) + " · f6 continue"
        theme = "ansi_dark" if self.app.current_theme.dark else "ansi_light"
        self._set(title, Syntax(payload.get("yaml", ""), "yaml", theme=theme, word_wrap=True,
                                background_color="default"))
        self.scroll_home(animate=False)

    def failed(self, payload: dict[str, Any]) -> None:
        self.state = "failed"
        self.add_class("-visible")
        partial = payload.get("partial") or ""
        body = payload.get("message", "Compression failed.")
        if partial:
            body += "\n\nPartial output kept for inspection:\n" + partial[-STREAM_TAIL:]
        self._set("Archive · failed", body)
