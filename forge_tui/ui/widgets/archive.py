"""The archive preview pane (issue 3): YAML while an archive is generated, then
the validated archive, highlighted, with its token counts. Hidden until toggled
or until an archive arrives."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Label, Static


class ArchivePane(VerticalScroll):
    DEFAULT_CLASSES = "archive-pane"

    def compose(self) -> ComposeResult:
        yield Label("Archive", classes="section-title")
        yield Static("No archive yet for this conversation.", id="archive-body", classes="dim-hint",
                     markup=False)
