"""Modal listing the models of ``models.toml`` with their descriptions; returns a name or None."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList, Static
from textual.widgets.option_list import Option

from forge_tui.config import ModelsConfig


def model_option(name: str, spec, current: str) -> Option:
    text = Text()
    text.append("● " if name == current else "  ", style="bold")
    text.append(name, style="bold")
    text.append(f"   n_ctx {spec.n_ctx:,}", style="dim")
    if spec.n_gpu_layers:
        text.append(f" · gpu layers {spec.n_gpu_layers}", style="dim")
    text.append("\n    " + (spec.description or spec.path), style="italic")
    return Option(text, id=name)


class ModelPicker(ModalScreen[str | None]):
    BINDINGS = [Binding("escape", "dismiss_picker", "Close", id="forge.modal.close")]

    def __init__(self, models: ModelsConfig, current: str) -> None:
        super().__init__(classes="forge-modal")
        self.models = models
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-box", id="model-picker"):
            yield Label("Choose a model", classes="modal-title")
            yield OptionList(*self._options(), id="model-options")
            yield Static("Enter loads the model · Esc closes · models.toml edits appear here live",
                         classes="modal-help")

    def _options(self) -> list[Option]:
        return [model_option(name, spec, self.current) for name, spec in self.models.models.items()]

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        names = list(self.models.models)
        if self.current in names:
            options.highlighted = names.index(self.current)

    def update_models(self, models: ModelsConfig) -> None:
        """Called when a good ``models.toml`` edit is loaded while the picker is open."""
        self.models = models
        options = self.query_one(OptionList)
        options.clear_options()
        options.add_options(self._options())

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    def action_dismiss_picker(self) -> None:
        self.dismiss(None)
