"""Export the open (or highlighted) conversation, or its archive, from the palette.

Mixed into ``MainScreen``. The controller says what would be written (``ExportOffered``);
``ExportScreen`` picks the format and the file — suggested in the export folder
(``[settings] export_dir``, else the Documents folder) — and refuses, inside the screen, a
folder that does not exist and an existing file until "Overwrite" confirms it. The controller
writes it with the same code as ``forge export -o FILE`` (a 0600 file); ``ExportWritten`` names it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Awaitable, Callable

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, RadioButton, RadioSet, Static

from forge_tui.export import ExportError, check_target
from forge_tui.session import events as ev

if TYPE_CHECKING:
    from forge_tui.session.controller import SessionController

FORMAT_LABELS = {"md": "Markdown", "json": "JSON", "yaml": "YAML"}


@dataclass(frozen=True)
class ExportChoice:
    fmt: str
    path: str
    overwrite: bool


class ExportScreen(ModalScreen[ExportChoice | None]):
    """Format and file for one export; returns ``ExportChoice`` or ``None`` (cancelled)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="forge.modal.close")]

    def __init__(self, offer: ev.ExportOffered, folder: Path) -> None:
        super().__init__(classes="forge-modal")
        self.offer = offer
        self.folder = folder
        self.fmt = offer.formats[0]
        #: an existing file is replaced only once "Overwrite" confirms it for this path and format
        self._confirmed: tuple[str, str] | None = None

    def compose(self) -> ComposeResult:
        title = "Export conversation" if self.offer.kind == "conversation" else "Export archive"
        with Vertical(classes="modal-box", id="export-screen"):
            yield Label(title, classes="modal-title")
            yield Static(self.offer.label, id="export-what", markup=False)
            with RadioSet(id="export-formats"):
                for fmt, label in FORMAT_LABELS.items():
                    yield RadioButton(label, value=fmt == self.fmt, id=f"format-{fmt}", compact=True,
                                      disabled=fmt not in self.offer.formats)
            yield Input(str(self.folder / f"{self.offer.suggested_stem}.{self.fmt}"), id="export-path")
            yield Static("", id="export-error", classes="modal-error", markup=False)
            with Horizontal(classes="modal-buttons"):
                yield Button("Export", id="export", variant="primary")
                yield Button("Cancel", id="cancel")
            note = "" if self.offer.kind == "conversation" else "An archive is written as YAML, its own format. "
            yield Static(f"{note}Enter exports · Esc cancels · the file is readable by you only (0600)",
                         classes="modal-help")

    def on_mount(self) -> None:
        self.query_one("#export-path", Input).focus()

    @on(RadioSet.Changed, "#export-formats")
    def format_changed(self, event: RadioSet.Changed) -> None:
        fmt = (event.pressed.id or "").removeprefix("format-")
        if fmt not in self.offer.formats:
            return
        path_input = self.query_one("#export-path", Input)
        path = Path(path_input.value)
        if path.suffix.lstrip(".") == self.fmt:  # keep a chosen name; follow the format's extension
            path_input.value = str(path.with_suffix(f".{fmt}"))
        self.fmt = fmt
        self._refused("")

    @on(Input.Changed, "#export-path")
    def path_changed(self) -> None:
        self._refused("")

    def _refused(self, why: str) -> None:
        self.query_one("#export-error", Static).update(why)
        if not why:
            self._confirmed = None
            self.query_one("#export", Button).label = "Export"

    @on(Input.Submitted, "#export-path")
    @on(Button.Pressed, "#export")
    def export(self) -> None:
        path = self.query_one("#export-path", Input).value.strip()
        wanted = (path, self.fmt)
        overwrite = self._confirmed == wanted
        try:
            target = check_target(path, overwrite=overwrite)
        except ExportError as exc:
            self._refused(str(exc))
            if Path(path).expanduser().is_file():
                self._confirmed = wanted
                self.query_one("#export", Button).label = "Overwrite"
                self.query_one("#export-error", Static).update(f"{exc} Press Overwrite (or Enter) to replace it.")
            return
        self.dismiss(ExportChoice(self.fmt, str(target), overwrite))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class ExportHandlers:
    """Needs ``self.controller``, ``self.app``, ``self.notify`` and ``_managed`` (ManageHandlers)."""

    controller: "SessionController"
    _managed: Callable[[], Any]

    def export_handlers(self) -> dict[type, Callable[[Any], Awaitable[None] | None]]:
        return {ev.ExportOffered: self._export_offered, ev.ExportWritten: self._export_written}

    def action_export_conversation(self) -> None:
        conv = self._managed()
        if conv is not None:
            self.controller.offer_export("conversation", conv.id)

    def action_export_archive(self) -> None:
        conv = self._managed()
        if conv is not None:
            self.controller.offer_export("archive", conv.id)

    def _export_offered(self, event: ev.ExportOffered) -> None:
        folder = self.controller.settings.export_folder()

        def chosen(choice: ExportChoice | None) -> None:
            if choice is not None:
                self.controller.export(event.kind, event.target_id, choice.fmt, choice.path,
                                       overwrite=choice.overwrite, conv_id=event.conversation_id)

        self.app.push_screen(ExportScreen(event, folder), chosen)

    def _export_written(self, event: ev.ExportWritten) -> None:
        what = "Conversation" if event.kind == "conversation" else "Archive"
        self.notify(f"{what} exported to {event.path}", timeout=8)
