"""Live reload of models.toml and theme files through the watchfiles worker."""

from __future__ import annotations

import shutil

from forge_tui.config import REPO_ROOT
from forge_tui.ui.screens.model_picker import ModelPicker

from .conftest import MODELS_TOML, SIZE
from .helpers import wait_connected, wait_until


async def test_broken_models_edit_shows_an_error_and_keeps_the_old_models(make_app, store, models_file):
    app = make_app(watch_files=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_connected(pilot)
        before = app.controller.models
        await pilot.press("f2")
        await wait_until(pilot, lambda: isinstance(app.screen, ModelPicker))
        await pilot.pause(0.3)  # let the watcher start
        models_file.write_text(MODELS_TOML + "\n[models.broken\npath = 1\n", encoding="utf-8")
        banner = app.main_screen.banner
        await wait_until(pilot, lambda: "config:models" in banner.lines)
        assert str(models_file) in banner.lines["config:models"]
        assert "line" in banner.lines["config:models"]
        assert app.controller.models is before
        assert [o.id for o in app.screen.query_one("#model-options").options] == ["smollm2", "gemma3-270m"]
        # a good edit clears the error and reaches the open picker
        models_file.write_text(MODELS_TOML + '\n[models.mine]\npath = "/models/mine.gguf"\n'
                               'description = "my own"\nn_ctx = 2048\n', encoding="utf-8")
        await wait_until(pilot, lambda: "config:models" not in banner.lines)
        await wait_until(pilot, lambda: "mine" in app.controller.models.models)
        options = [o.id for o in app.screen.query_one("#model-options").options]
        assert options == ["smollm2", "gemma3-270m", "mine"]


async def test_theme_file_edits_apply_live_and_broken_ones_are_reported(make_app, store, tmp_path):
    themes = tmp_path / "themes"
    shutil.copytree(REPO_ROOT / "themes", themes)
    app = make_app(watch_files=True)
    app.themes_dirs = [themes]
    async with app.run_test(size=SIZE) as pilot:
        await wait_connected(pilot)
        await pilot.pause(0.3)
        dark = themes / "forge-dark.toml"
        dark.write_text(dark.read_text().replace('primary = "#E8833A"', 'primary = "#00FF00"'))
        await wait_until(pilot, lambda: app.get_theme("forge-dark").primary == "#00FF00")
        assert app.theme == "forge-dark"
        (themes / "bad.toml").write_text('name = "bad"\nprimary = "not a colour"\n')
        await wait_until(pilot, lambda: "config:themes" in app.main_screen.banner.lines)
        assert "bad.toml" in app.main_screen.banner.lines["config:themes"]
        assert app.get_theme("forge-dark").primary == "#00FF00"
