"""The archive preview pane: the YAML while the archive is generated, then the
validated archive, highlighted and scrollable, with its token counts.
Hidden until toggled (f3) or until a compression starts. It follows the open
conversation: its latest archive, the one it continues from, or a hint."""

from __future__ import annotations

from rich.syntax import Syntax
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Label, Static

from forge_tui.session import events as ev

#: characters of streamed YAML kept on screen while generating
STREAM_TAIL = 6_000


class ArchivePane(VerticalScroll):
    DEFAULT_CLASSES = "archive-pane"

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        #: the archive F6 continues from: this conversation's own (None for one it only continues)
        self.archive_id: str | None = None
        #: the archive on show, its own or the one it continues from
        self.shown_id: str | None = None
        self.state = "empty"  # empty | streaming | ready | failed
        self._buffer: list[str] = []

    def compose(self) -> ComposeResult:
        yield Label("Archive", id="archive-title", classes="section-title")
        yield Static(self.EMPTY, id="archive-body",
                     classes="dim-hint", markup=False)

    EMPTY = "No archive yet for this conversation. f5 compresses it."

    def reset(self) -> None:
        """A conversation with no archive (yet): the hint, whatever was shown before."""
        self.state, self.archive_id, self.shown_id, self._buffer = "empty", None, None, []
        self._set("Archive", self.EMPTY, hint=True)

    def loaded(self, event: ev.ArchiveLoaded) -> None:
        """The stored archive of the conversation just opened (the pane stays shown or hidden)."""
        if event.archive_id is None:
            self.reset()
            return
        self.state, self._buffer = "ready", []
        # F6 continues from this conversation's own archive, never again from its parent's
        self.archive_id = None if event.continued_from else event.archive_id
        self.shown_id = event.archive_id
        short = event.archive_id[:8]
        head = f"Continued from archive {short}" if event.continued_from else f"Archive {short}"
        parts = [head, f"{event.tokens_source:,} → {event.tokens_archive:,} tokens"]
        if event.mode:
            parts.append(event.mode)
        parts.append("f5 compresses this one" if event.continued_from else "f6 continue")
        theme = "ansi_dark" if self.app.current_theme.dark else "ansi_light"
        self._set(" · ".join(parts), Syntax(event.yaml, "yaml", theme=theme, word_wrap=True,
                                           background_color="default"))
        self.scroll_home(animate=False)

    def _set(self, title: str, body, hint: bool = False) -> None:
        self.query_one("#archive-title", Label).update(title)
        static = self.query_one("#archive-body", Static)
        static.set_class(hint, "dim-hint")
        static.update(body)

    def started(self, event: ev.ArchiveStarted) -> None:
        self.state, self.archive_id, self.shown_id, self._buffer = "streaming", None, None, []
        self.add_class("-visible")
        mode = event.mode
        self._set(f"Archive · compressing ({mode})…", "Waiting for the model…", hint=True)

    STAGES = {"extract": "reading turns", "wording": "model wording"}

    def progressed(self, event: ev.ArchiveProgressed) -> None:
        if self.state not in ("streaming", "drafted"):
            return
        stage = self.STAGES.get(event.stage, event.stage)
        count = f" {event.done:,}/{event.total:,}" if event.stage == "extract" else "…"
        self.query_one("#archive-title", Label).update(f"Archive · {stage}{count} (esc cancels)")

    def drafted(self, event: ev.ArchiveDrafted) -> None:
        """The rule-based archive, valid already; the model's wording replaces it when it is done."""
        if self.state != "streaming":
            return
        self.state = "drafted"
        theme = "ansi_dark" if self.app.current_theme.dark else "ansi_light"
        self._set("Archive · rule-based draft · model wording follows (esc keeps nothing)",
                  Syntax(event.yaml, "yaml", theme=theme, word_wrap=True, background_color="default"))
        self.scroll_home(animate=False)

    def chunk(self, text: str) -> None:
        if self.state != "streaming":
            return
        self._buffer.append(text)
        streamed = "".join(self._buffer)
        self._set("Archive · generating YAML…", streamed[-STREAM_TAIL:])
        self.scroll_end(animate=False)

    def ready(self, event: ev.ArchiveReady) -> None:
        self.state = "ready"
        self.archive_id = self.shown_id = event.archive_id
        self.add_class("-visible")
        src, arc = event.tokens_source, event.tokens_archive
        parts = [f"Archive {str(self.archive_id or '')[:8]}", f"{src:,} → {arc:,} tokens"]
        if event.mode:
            parts.append(event.mode)
        if event.dropped:
            parts.append(f"{len(event.dropped)} item(s) left out for the budget")
        if event.note:
            parts.append("rule-based")
        title = " · ".join(parts) + " · f6 continue"
        theme = "ansi_dark" if self.app.current_theme.dark else "ansi_light"
        self._set(title, Syntax(event.yaml, "yaml", theme=theme, word_wrap=True,
                                background_color="default"))
        self.scroll_home(animate=False)

    def failed(self, event: ev.ArchiveFailed) -> None:
        self.state = "failed"
        self.add_class("-visible")
        partial = event.partial
        body = event.message or "Compression failed."
        if partial:
            body += "\n\nPartial output kept for inspection:\n" + partial[-STREAM_TAIL:]
        self._set("Archive · failed", body)
