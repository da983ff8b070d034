"""Training an adapter from the palette: a task picker, progress in the sidebar, chat stays live.

The training function is scripted here (the real run is tested in tests/training); the runner,
events, bridge, screen and sidebar are the real ones.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from forge_tui.domain.models import Task
from forge_tui.session.training import TrainingRunner

from .conftest import SIZE
from .helpers import wait_connected, wait_idle, wait_until


@dataclass
class Step:
    step: int
    total: int
    loss: float
    elapsed_s: float


class ScriptedTraining:
    """Reports a status line and two steps, then waits for ``release`` before finishing."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.tasks: list[Task] = []

    def __call__(self, task, on_status, on_step, cancel) -> str:
        self.tasks.append(task)
        on_status("loading smollm2 into transformers on cpu…")
        on_step(Step(1, 4, 2.5, 2.0))
        on_step(Step(2, 4, 1.25, 4.0))
        self.release.wait(30)
        if cancel.is_set():
            raise RuntimeError("stopped at step 2/4; continue with `forge train lora --task code --resume`")
        return "adapter smollm2-code trained (4 steps, 1.9 MB) and registered for code"


def _app_with_training(make_app):
    script = ScriptedTraining()
    app = make_app(training=lambda emit: TrainingRunner(script, emit))
    return app, script


async def _start_from_palette(pilot, task_index: int) -> None:
    await pilot.press("ctrl+p")
    await pilot.pause(0.2)
    await pilot.press(*"train adapter")
    await pilot.pause(0.3)
    await pilot.press("enter")
    await wait_until(pilot, lambda: pilot.app.screen.id == "train-picker" or
                     pilot.app.screen.query("#train-options"))
    for _ in range(task_index):
        await pilot.press("down")
    await pilot.press("enter")


async def test_train_from_palette_shows_progress_and_chat_stays_live(make_app, store):
    app, script = _app_with_training(make_app)
    async with app.run_test(size=SIZE) as pilot:
        await wait_connected(pilot)
        await _start_from_palette(pilot, 3)  # chat, compression, decisions, code
        screen = app.main_screen
        await wait_until(pilot, lambda: "2/4" in screen.training_label)
        assert script.tasks == [Task.CODE]
        assert screen.training_label == "training code · 2/4 · loss 1.250 · ETA 0m04s"
        assert app.screen.query_one("#training-state").display
        # chat is not blocked while training runs
        await pilot.press(*"hello")
        await pilot.press("enter")
        await wait_until(pilot, lambda: screen.busy or len(app.controller.state.turns) >= 2)
        await wait_idle(pilot)
        assert app.controller.state.turns[-1].content
        script.release.set()
        await wait_until(pilot, lambda: not screen.training_label)
        assert not app.controller.training.running
        assert not app.screen.query_one("#training-state").display


async def test_choosing_again_stops_the_run(make_app, store):
    app, script = _app_with_training(make_app)
    async with app.run_test(size=SIZE) as pilot:
        await wait_connected(pilot)
        await _start_from_palette(pilot, 0)
        await wait_until(pilot, lambda: "2/4" in app.main_screen.training_label)
        await _start_from_palette(pilot, 0)
        assert app.controller.training._cancel.is_set()
        script.release.set()
        await wait_until(pilot, lambda: not app.main_screen.training_label)
        assert script.tasks == [Task.CHAT]


def test_snapshot_train_picker(snap_compare, make_app, store):
    app, _script = _app_with_training(make_app)

    async def run_before(pilot):
        await wait_connected(pilot)
        await pilot.app.run_action("train_adapter", pilot.app.main_screen)
        await pilot.pause(0.3)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_snapshot_training_progress_in_sidebar(snap_compare, make_app, store):
    app, script = _app_with_training(make_app)

    async def run_before(pilot):
        await wait_connected(pilot)
        app.controller.training.start(Task.COMPRESSION)
        await wait_until(pilot, lambda: "2/4" in app.main_screen.training_label)
        await pilot.pause(0.2)

    try:
        assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
    finally:
        script.release.set()
