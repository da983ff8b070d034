"""Small async helpers for Pilot tests: wait for a condition without timed assertions."""

from __future__ import annotations

import asyncio
from typing import Callable

from textual.pilot import WaitForScreenTimeout


async def settle(pilot, delay: float = 0.1) -> None:
    """``pilot.pause(delay)``, tolerating Textual's wait-for-screen race: a widget removed while
    the pilot waits for every widget to drain its queue (the conversation list refreshing, say)
    never answers, and the pilot times out although nothing is stuck."""
    try:
        await pilot.pause(delay)
    except WaitForScreenTimeout:
        await asyncio.sleep(delay)


async def press(pilot, *keys: str) -> None:
    """``pilot.press(*keys)``, tolerating the same race as ``settle``: the keys are delivered
    before the pilot waits for every widget's queue, and a key that removes widgets (a
    conversation switched, a reply cancelled) can leave that wait unanswered."""
    try:
        await pilot.press(*keys)
    except WaitForScreenTimeout:
        await asyncio.sleep(0.1)


async def wait_until(pilot, predicate: Callable[[], bool], timeout: float = 20.0, step: float = 0.05) -> None:
    """Pause the pilot until ``predicate()`` is true; fail with a clear message after ``timeout``."""
    waited = 0.0
    while not predicate():
        if waited >= timeout:
            raise AssertionError(f"condition not met within {timeout}s: {predicate.__doc__ or predicate}")
        await asyncio.sleep(step)  # the predicate decides; no wait for every widget's queue
        waited += step


async def wait_connected(pilot) -> None:
    app = pilot.app

    def ready() -> bool:
        """store connected, model ready and list shown"""
        screen = app.main_screen
        return (app.controller.state.store_status == "connected" and screen.model_label.endswith("ready")
                and screen.store_label.endswith("connected"))

    await wait_until(pilot, ready)
    await settle(pilot)


async def wait_idle(pilot, timeout: float = 20.0) -> None:
    app = pilot.app

    def idle() -> bool:
        """no reply streaming"""
        return not app.controller.busy and not app.main_screen.busy

    await wait_until(pilot, idle, timeout)
    await app.workers.wait_for_complete()
    await settle(pilot)


async def open_conversation(pilot, conv_id: str) -> None:
    app = pilot.app
    app.controller.open_conversation(conv_id)

    def opened() -> bool:
        """the conversation is on screen"""
        return app.main_screen.current_id == conv_id

    await wait_until(pilot, opened)
    await pilot.pause(0.2)


async def run_palette(pilot, command: str) -> None:
    """Open the command palette, type ``command`` and run the first match."""
    await pilot.press("ctrl+p")
    await pilot.pause(0.2)
    await pilot.press(*command)
    await pilot.pause(0.3)
    await pilot.press("enter")
    await pilot.pause(0.2)
