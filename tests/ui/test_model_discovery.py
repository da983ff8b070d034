"""The model picker lists models found on this machine and adds one with a key."""

from __future__ import annotations

from dataclasses import replace

from forge_tui.config import ModelSpec
from forge_tui.engine.discovery import Found
from forge_tui.ui.screens.model_picker import ModelPicker

from .conftest import SIZE
from .helpers import wait_connected, wait_until

FINDS = [
    Found(name="qwen2-5-7b", source="ollama", path="/home/me/.ollama/models/blobs/sha256-9f1c", size=4_683_000_000),
    Found(name="ollama-llama3-2-1b", source="server:11434", base_url="http://127.0.0.1:11434/v1",
          model="llama3.2:1b", structured="ollama"),
]


class ScriptedFinder:
    def __init__(self, models):
        self.models = models
        self.added: list[Found] = []

    def discover(self) -> list[Found]:
        return list(FINDS)

    def add(self, found: Found):
        self.added.append(found)
        spec = ModelSpec(name=found.name, path=found.path, description=f"found: {found.source}")
        self.models = replace(self.models, models={**self.models.models, found.name: spec})
        return found.name, self.models


async def _open_picker(pilot) -> ModelPicker:
    await wait_connected(pilot)
    await pilot.press("f2")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, ModelPicker) and bool(pilot.app.screen.found))
    await pilot.pause(0.1)
    return pilot.app.screen


def test_picker_lists_found_models(snap_compare, make_app, store):
    app = make_app()
    app.main_screen.model_finder = ScriptedFinder(app.controller.models)

    async def run_before(pilot):
        await _open_picker(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


async def test_a_adds_the_found_model_and_enter_loads_it(make_app, store):
    app = make_app()
    finder = ScriptedFinder(app.controller.models)
    app.main_screen.model_finder = finder
    async with app.run_test(size=SIZE) as pilot:
        picker = await _open_picker(pilot)
        await pilot.press("a")  # on a configured model: nothing to add
        assert finder.added == []
        options = picker.query_one("#model-options")
        options.highlighted = next(i for i in range(options.option_count)
                                   if options.get_option_at_index(i).id == "found:0")
        await pilot.press("a")
        await wait_until(pilot, lambda: finder.added == [FINDS[0]])
        assert "qwen2-5-7b" in picker.models.models
        ids = [options.get_option_at_index(i).id for i in range(options.option_count)]
        assert picker.found == [FINDS[1]] and ids.count("found:0") == 1 and "qwen2-5-7b" in ids
        options.highlighted = ids.index("qwen2-5-7b")
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.controller.state.model == "qwen2-5-7b")
        assert "qwen2-5-7b" in app.controller.models.models
