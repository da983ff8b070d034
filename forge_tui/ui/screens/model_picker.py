"""Modal listing the models of ``models.toml`` with their descriptions, then the models
found on this machine (Ollama, LM Studio, the HF cache, local servers); returns a name or None.

``a`` (or Enter) on a found model writes its models.toml entry; the live config watch
then lists it with the others, and Enter loads it.
"""

from __future__ import annotations

from typing import Protocol

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList, Static
from textual.widgets.option_list import Option

from forge_tui.config import ConfigError, ModelsConfig
from forge_tui.domain.found import Found

FOUND_PREFIX = "found:"


class ModelFinder(Protocol):
    """What the picker needs to offer local finds (the root builds it)."""

    def discover(self) -> list[Found]: ...

    def add(self, found: Found) -> tuple[str, ModelsConfig]:
        """Write the entry; returns its name and the models as now configured (raises
        ``ConfigError`` naming the fix)."""
        ...


def found_option(index: int, found: Found) -> Option:
    text = Text()
    text.append("+ ", style="bold")
    text.append(found.name, style="bold")
    text.append(f"   {found.source}", style="dim")
    if found.size:
        text.append(f" · {found.size / 1e9:.1f} GB", style="dim")
    text.append("\n    " + (found.path or f"{found.base_url} {found.model}"), style="italic")
    return Option(text, id=f"{FOUND_PREFIX}{index}")


def model_option(name: str, spec, current: str) -> Option:
    text = Text()
    text.append("● " if name == current else "  ", style="bold")
    text.append(name, style="bold")
    text.append(f"   n_ctx {spec.n_ctx:,}" if spec.n_ctx else "   n_ctx from the server", style="dim")
    if spec.kind != "llama":
        text.append(f" · {spec.kind}" + (" · cloud" if spec.is_cloud else ""), style="dim")
    if spec.n_gpu_layers:
        text.append(f" · gpu layers {spec.n_gpu_layers}", style="dim")
    text.append("\n    " + (spec.description or spec.path or spec.base_url or spec.remote_model), style="italic")
    return Option(text, id=name)


class ModelPicker(ModalScreen[str | None]):
    BINDINGS = [Binding("escape", "dismiss_picker", "Close", id="forge.modal.close"),
                Binding("a", "add_found", "Add", id="forge.modal.add_model")]

    def __init__(self, models: ModelsConfig, current: str, finder: ModelFinder | None = None) -> None:
        super().__init__(classes="forge-modal")
        self.models = models
        self.current = current
        self.finder = finder
        self.found: list[Found] = []

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-box", id="model-picker"):
            yield Label("Choose a model", classes="modal-title")
            yield OptionList(*self._options(), id="model-options")
            adds = " · a adds a found one (+)" if self.finder is not None else ""
            yield Static(f"Enter loads the model{adds} · Esc closes · models.toml edits appear here live",
                         classes="modal-help")

    def _options(self) -> list[Option]:
        options = [model_option(name, spec, self.current) for name, spec in self.models.models.items()]
        configured = {s.path for s in self.models.models.values()} | {
            f"{s.base_url.rstrip('/')} {s.remote_model}" for s in self.models.models.values()}
        finds = [(i, f) for i, f in enumerate(self.found)
                 if f.path not in configured and f"{f.base_url} {f.model}" not in configured]
        if finds:
            options.append(Option(Text("Found on this machine", style="bold dim"), disabled=True))
            options += [found_option(i, f) for i, f in finds]
        return options

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        names = list(self.models.models)
        if self.current in names:
            options.highlighted = names.index(self.current)
        if self.finder is not None:
            self._discover()

    @work(thread=True, exclusive=True, exit_on_error=False, group="discovery")
    def _discover(self) -> None:
        """Disk scans and port probes take a moment: off the UI thread, listed when done."""
        assert self.finder is not None
        found = self.finder.discover()
        self.app.call_from_thread(self._show_found, found)

    def _show_found(self, found: list[Found]) -> None:
        self.found = found
        self._refresh_options()

    def _refresh_options(self) -> None:
        options = self.query_one(OptionList)
        highlighted = options.highlighted
        options.clear_options()
        options.add_options(self._options())
        if highlighted is not None and highlighted < options.option_count:
            options.highlighted = highlighted

    def _found_at_cursor(self) -> Found | None:
        options = self.query_one(OptionList)
        if options.highlighted is None:
            return None
        option_id = options.get_option_at_index(options.highlighted).id or ""
        return self.found[int(option_id[len(FOUND_PREFIX):])] if option_id.startswith(FOUND_PREFIX) else None

    def action_add_found(self) -> None:
        found = self._found_at_cursor()
        if found is None or self.finder is None:
            self.notify("Move to a found model (+) to add it.", severity="warning")
            return
        self._add(found)

    def _add(self, found: Found) -> str | None:
        assert self.finder is not None
        try:
            name, models = self.finder.add(found)
        except (ConfigError, OSError) as exc:
            self.notify(str(exc), severity="error")
            return None
        self.notify(f"Added [models.{name}] to models.toml; Enter loads it.")
        self.found = [f for f in self.found if f != found]
        self.update_models(models)
        return name

    def update_models(self, models: ModelsConfig) -> None:
        """Called when a good ``models.toml`` edit is loaded while the picker is open."""
        self.models = models
        self._refresh_options()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        option_id = event.option.id or ""
        if option_id.startswith(FOUND_PREFIX):
            name = self._add(self.found[int(option_id[len(FOUND_PREFIX):])])
            if name is not None:
                self.dismiss(name)
            return
        self.dismiss(option_id)

    def action_dismiss_picker(self) -> None:
        self.dismiss(None)
