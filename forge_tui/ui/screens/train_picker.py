"""Modal for training a LoRA adapter in the background: pick the task; returns it or None."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList, Static
from textual.widgets.option_list import Option

from forge_tui.domain.models import Task

TASK_HELP = {
    Task.COMPRESSION: "archives you compressed (F5): what to keep, how to word it",
    Task.DECISIONS: "decisions with rationales and resolved threads",
    Task.CODE: "question/answer pairs labelled as code",
    Task.CHAT: "all of the above",
}


class TrainPicker(ModalScreen[Task | None]):
    BINDINGS = [Binding("escape", "dismiss_picker", "Close", id="forge.modal.close")]

    def __init__(self, running: bool) -> None:
        super().__init__(classes="forge-modal")
        self.running = running

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-box", id="train-picker"):
            yield Label("Train a LoRA adapter on your history", classes="modal-title")
            yield OptionList(*[self._option(t) for t in Task], id="train-options")
            note = ("A run is going: choosing a task stops it (it resumes with --resume)." if self.running else
                    "Trains in the background; chat stays available. Progress shows in the sidebar.")
            yield Static(f"{note}\nEnter starts · Esc closes", classes="modal-help")

    @staticmethod
    def _option(task: Task) -> Option:
        text = Text(task.value, style="bold")
        text.append(f"\n    {TASK_HELP[task]}", style="italic")
        return Option(text, id=task.value)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(Task(event.option.id))

    def action_dismiss_picker(self) -> None:
        self.dismiss(None)
