"""The help screen (F1): every key with where it works and what it does, the
actions that only the palette runs, and what each pane is. The key table is
read from the live bindings (``forge_tui.ui.keys``), so it cannot drift from them."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from forge_tui.ui.keys import PANES, KeyRow


def keys_table(rows: list[KeyRow]) -> Table:
    table = Table(box=None, show_header=True, header_style="bold", expand=True, padding=(0, 1, 0, 0))
    table.add_column("Key", no_wrap=True, style="bold")
    table.add_column("Action", no_wrap=True, max_width=20)
    table.add_column("Where", no_wrap=True, style="dim")
    table.add_column("What it does", ratio=1)
    for row in rows:
        table.add_row(row.keys, row.title, row.where, row.help)
    return table


def named_table(rows: list[tuple[str, str]]) -> Table:
    table = Table(box=None, show_header=False, expand=True, padding=(0, 1, 0, 0))
    table.add_column(no_wrap=True, style="bold")
    table.add_column(ratio=1)
    for name, text in rows:
        table.add_row(name, text)
    return table


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,f1,q", "close_help", "Close", id="forge.modal.close")]

    def __init__(self, rows: list[KeyRow], palette_only: list[tuple[str, str]]) -> None:
        super().__init__(classes="forge-modal", id="help-screen")
        self.rows = rows
        self.palette_only = palette_only

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-box", id="help-box"):
            yield Label("Forge · keys and panes", classes="modal-title")
            with VerticalScroll(id="help-body"):
                yield Static(keys_table(self.rows), id="help-keys")
                if self.palette_only:
                    yield Label("In the palette only (Ctrl+P, then type the name)", classes="section-title")
                    yield Static(named_table(self.palette_only), id="help-palette")
                yield Label("Panes", classes="section-title")
                yield Static(named_table(list(PANES)), id="help-panes")
                yield Static(Text("Keys can be rebound in forge.toml ([keymap], by the ids in README.md).",
                                  style="dim"), id="help-keymap")
            yield Static("↑/↓ PageUp/PageDown scroll · Esc, F1 or q closes", classes="modal-help")

    def on_mount(self) -> None:
        self.query_one("#help-body").focus()

    def action_close_help(self) -> None:
        self.dismiss(None)
