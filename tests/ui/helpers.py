"""Small async helpers for Pilot tests: wait for a condition without timed assertions."""

from __future__ import annotations

from typing import Callable


async def wait_until(pilot, predicate: Callable[[], bool], timeout: float = 20.0, step: float = 0.05) -> None:
    """Pause the pilot until ``predicate()`` is true; fail with a clear message after ``timeout``."""
    waited = 0.0
    while not predicate():
        if waited >= timeout:
            raise AssertionError(f"condition not met within {timeout}s: {predicate.__doc__ or predicate}")
        await pilot.pause(step)
        waited += step


async def wait_connected(pilot) -> None:
    app = pilot.app

    def ready() -> bool:
        """store connected, model ready and list shown"""
        screen = app.main_screen
        return (app.controller.state.store_status == "connected" and screen.model_label.endswith("ready")
                and screen.store_label.endswith("connected"))

    await wait_until(pilot, ready)
    await pilot.pause(0.1)


async def wait_idle(pilot, timeout: float = 20.0) -> None:
    app = pilot.app

    def idle() -> bool:
        """no reply streaming"""
        return not app.controller.busy and not app.main_screen.busy

    await wait_until(pilot, idle, timeout)
    await app.workers.wait_for_complete()
    await pilot.pause(0.1)


async def open_conversation(pilot, conv_id: str) -> None:
    app = pilot.app
    app.controller.open_conversation(conv_id)

    def opened() -> bool:
        """the conversation is on screen"""
        return app.main_screen.current_id == conv_id

    await wait_until(pilot, opened)
    await pilot.pause(0.2)
