"""The overflow dialog: a message would not fit the model's context; the user decides.

Shown for ``ContextOverflowed``. Three answers, each saying what it does:
compress and continue, leave out the oldest turns for this one request, or
cancel (the message goes back to the prompt). A choice that cannot help is
shown disabled with the reason. Esc cancels. Nothing was sent or written yet.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from forge_tui.session.budget import Overflow


class OverflowModal(ModalScreen[str]):
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="forge.modal.close")]

    def __init__(self, overflow: Overflow) -> None:
        super().__init__(classes="forge-modal")
        self.overflow = overflow

    def compose(self) -> ComposeResult:
        held = self.overflow
        compress_help = held.cannot_compress or (
            "Archive this conversation, continue from the archive in a new one, send it there.")
        if held.drop_turns is None:
            drop_label, truncate_help = "Leave out old turns", "Would not help: the message alone is too long."
        else:
            drop_label = f"Leave out {held.drop_turns} oldest turn{'s' if held.drop_turns != 1 else ''}"
            truncate_help = "For this request only; every turn stays in the conversation."
        with Vertical(classes="modal-box", id="overflow"):
            yield Label("This message does not fit the context", classes="modal-title")
            yield Static(held.explain(), id="overflow-explain", markup=False)
            with Horizontal(classes="overflow-choice"):
                yield Button("Compress and continue", id="compress", variant="primary", disabled=not held.can_compress)
                yield Static(compress_help, classes="overflow-help", markup=False)
            with Horizontal(classes="overflow-choice"):
                yield Button(drop_label, id="truncate", disabled=held.drop_turns is None)
                yield Static(truncate_help, classes="overflow-help", markup=False)
            with Horizontal(classes="overflow-choice"):
                yield Button("Cancel", id="cancel")
                yield Static("The message goes back to the prompt (Esc).", classes="overflow-help", markup=False)

    def on_mount(self) -> None:
        for choice in ("compress", "truncate", "cancel"):
            button = self.query_one(f"#{choice}", Button)
            if not button.disabled:
                button.focus()
                break

    @on(Button.Pressed)
    def chosen(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id or "cancel")

    def action_cancel(self) -> None:
        self.dismiss("cancel")
