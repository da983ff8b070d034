"""ForgeApp: composes the main screen, themes, the command palette and the
config watcher. Everything concrete (engine, store, controller) is injected by
the composition root through ``controller_factory``.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable

from textual import work
from textual.app import App, SystemCommand
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from forge_tui.config import ConfigError, Settings, load_models
from forge_tui.ui.actions import bindings
from forge_tui.ui.bridge import Bridge
from forge_tui.ui.commands import ForgeCommands
from forge_tui.ui.keys import key_table, palette_only
from forge_tui.ui.screens.help import HelpScreen
from forge_tui.ui.screens.main import MainScreen
from forge_tui.ui.screens.search import SearchScreen
from forge_tui.ui.themes import load_themes
from forge_tui.ui.widgets.prompt import PromptInput
from forge_tui.ui.watch import watch_config

if TYPE_CHECKING:
    from forge_tui.session.controller import SessionController
    from forge_tui.ui.screens.model_picker import ModelFinder
    from forge_tui.session.events import Event

FALLBACK_THEMES = ("forge-dark", "textual-dark")
#: Textual's system commands that Forge's own actions replace (one "Theme", one "Quit", F1 for the keys)
REPLACED_SYSTEM_COMMANDS = frozenset({"Theme", "Quit", "Keys"})


class ForgeApp(App):
    CSS_PATH = "forge.tcss"
    TITLE = "Forge"
    BINDINGS = bindings("app")
    COMMANDS = App.COMMANDS | {ForgeCommands}
    ENABLE_COMMAND_PALETTE = True

    def __init__(
        self,
        *,
        controller_factory: Callable[[Callable[["Event"], None]], "SessionController"],
        settings: Settings,
        themes_dirs: Iterable[Path] = (),
        models_file: Path | None = None,
        keymap: dict[str, str] | None = None,
        watch_files: bool = True,
        model_finder: ModelFinder | None = None,
    ) -> None:
        """
        Args:
            controller_factory: builds the session controller given the ``emit``
                callable that delivers its events to the UI (the bridge).
            settings: user settings; ``settings.theme`` is the start theme.
            themes_dirs: folders of ``*.toml`` theme files (later folders override).
            models_file: the ``models.toml`` to watch; good edits update the model picker.
            keymap: binding id -> keys (e.g. ``{"forge.new": "ctrl+k"}``).
            watch_files: watch ``models_file`` and ``themes_dirs`` for live edits.
            model_finder: finds local models for the model picker and adds them to models.toml.
        """
        super().__init__()
        self.settings = settings
        self.themes_dirs = [Path(d) for d in themes_dirs]
        self.models_file = Path(models_file) if models_file else None
        self._keymap = dict(keymap or {})
        self._watch_files = watch_files
        self._stop_watch = threading.Event()
        self.bridge = Bridge()
        self.controller = controller_factory(self.bridge.emit)
        self.forge_themes: list[str] = []
        self._theme_errors = self._load_themes()
        self.main_screen = MainScreen(self.controller, model_finder)

    # -- lifecycle -----------------------------------------------------------
    async def on_mount(self) -> None:
        if self._keymap:
            self.set_keymap(self._keymap)
        await self.push_screen(self.main_screen)
        self.bridge.attach(self.main_screen)
        if self._theme_errors:
            self.main_screen.config_failed("config:themes", "\n".join(self._theme_errors))
        # after the first paint: connecting, loading the model and importing torch all
        # compete with the first frame for the interpreter
        self.call_after_refresh(self._start_background)

    def _start_background(self) -> None:
        self.controller.start()
        if self._watch_files:
            self.watch_config_files()

    async def on_unmount(self) -> None:
        self._stop_watch.set()
        self.controller.shutdown()

    # -- palette and help ----------------------------------------------------
    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Textual's system commands less those Forge's actions already offer."""
        for command in super().get_system_commands(screen):
            if command.title not in REPLACED_SYSTEM_COMMANDS:
                yield command

    def action_show_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        rows = key_table(self, self.main_screen, self.main_screen.query_one(PromptInput))
        self.push_screen(HelpScreen(rows, palette_only()))

    # -- themes --------------------------------------------------------------
    def _load_themes(self) -> list[str]:
        loaded = load_themes(self.themes_dirs)
        for theme in loaded.themes.values():
            self.register_theme(theme)
        self.forge_themes = sorted(loaded.themes)
        wanted = self.settings.theme
        for name in (wanted, *FALLBACK_THEMES):
            if name in self.available_themes:
                if self.theme != name:
                    self.theme = name
                break
        errors = list(loaded.errors)
        if wanted not in self.available_themes:
            errors.append(f"Theme '{wanted}' (settings.theme) was not found; using '{self.theme}'. "
                          f"Themes: {', '.join(self.forge_themes) or 'none in ' + str(self.themes_dirs)}.")
        return errors

    def reload_themes(self) -> None:
        """Re-read the theme files; a broken file keeps its last good version."""
        loaded = load_themes(self.themes_dirs)
        for theme in loaded.themes.values():
            self.register_theme(theme)
        self.forge_themes = sorted(set(self.forge_themes) | set(loaded.themes))
        if loaded.errors:
            self.main_screen.config_failed("config:themes", "\n".join(loaded.errors))
        else:
            self.main_screen.config_ok("config:themes")
        if self.theme in loaded.themes:  # re-apply so edits to the current theme show at once
            current = self.theme
            self.theme = "textual-dark" if current != "textual-dark" else "textual-light"
            self.theme = current

    def action_toggle_theme(self) -> None:
        names = self.forge_themes or list(FALLBACK_THEMES)
        index = names.index(self.theme) if self.theme in names else -1
        self.theme = names[(index + 1) % len(names)]
        self.notify(f"Theme: {self.theme}", timeout=2)

    # -- models.toml ---------------------------------------------------------
    def reload_models(self) -> bool:
        """Re-read ``models.toml``; a broken edit shows an error and keeps the last good models."""
        if self.models_file is None:
            return False
        try:
            models = load_models(self.models_file)
        except ConfigError as exc:
            self.main_screen.config_failed(
                "config:models", f"{exc} (Forge keeps the models it had before this edit.)")
            return False
        self.controller.update_models(models)
        self.main_screen.models_changed(models)
        return True

    @work(thread=True, exclusive=True, exit_on_error=False, group="config-watch", name="config-watch")
    def watch_config_files(self) -> None:
        for change in watch_config(self.models_file, self.themes_dirs, self._stop_watch):
            if change.models:
                self.call_from_thread(self.reload_models)
            if change.themes:
                self.call_from_thread(self.reload_themes)

    def on_search_screen_query_entered(self, message: SearchScreen.QueryEntered) -> None:
        """Modal screens bubble to the app; the main screen asks the controller."""
        self.main_screen.run_search(message.query)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR and event.worker.group == "config-watch":
            self.main_screen.config_failed(
                "config:watch", f"Live reload of models.toml and themes stopped: {event.worker.error}")
