"""SVG snapshots of the main states (pytest-textual-snapshot). Fixed size, cursor blink frozen,
deterministic data from the real store; regenerate with ``pytest tests/ui --snapshot-update``."""

from __future__ import annotations

from pymongo.errors import ServerSelectionTimeoutError

from .conftest import SIZE
from .helpers import open_conversation, wait_connected, wait_until
from .seed import seed_library


def test_main_screen_with_conversation(snap_compare, make_app, store):
    convs = seed_library(store)

    async def run_before(pilot):
        await wait_connected(pilot)
        await open_conversation(pilot, convs["plan"].id)

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run_before)


def test_conversation_list(snap_compare, make_app, store):
    convs = seed_library(store)

    async def run_before(pilot):
        await wait_connected(pilot)
        await open_conversation(pilot, convs["bugs"].id)
        await pilot.press("ctrl+o", "down", "down")
        await pilot.pause(0.1)

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run_before)


def test_model_picker(snap_compare, make_app, store):
    seed_library(store)

    async def run_before(pilot):
        await wait_connected(pilot)
        await pilot.press("f2")
        await pilot.pause(0.2)

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run_before)


def test_light_theme(snap_compare, make_app, store):
    convs = seed_library(store)

    async def run_before(pilot):
        await wait_connected(pilot)
        await open_conversation(pilot, convs["plan"].id)

    assert snap_compare(make_app(theme="forge-light"), terminal_size=SIZE, run_before=run_before)


def test_error_banner_keeps_typed_text(snap_compare, make_app):
    def unreachable():
        raise ServerSelectionTimeoutError("127.0.0.1:1: [Errno 111] Connection refused")

    app = make_app(store_factory=unreachable)

    async def run_before(pilot):
        await wait_until(pilot, lambda: "store" in pilot.app.main_screen.banner.lines)
        await pilot.press(*"my draft survives")
        await pilot.press("enter")
        # the message is kept by the session and sent when the database answers
        await wait_until(pilot, lambda: "1 message(s) waiting" in pilot.app.main_screen.banner.lines["store"])
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_new_conversation_project_prompt(snap_compare, make_app, store):
    seed_library(store)

    async def run_before(pilot):
        await wait_connected(pilot)
        await pilot.press("ctrl+n")
        await pilot.pause(0.2)

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run_before)
