"""Rename, delete (to the trash) and restore from the palette: Pilot flows on the real store, and
snapshots of the rename prompt and the trash picker."""

from __future__ import annotations

from datetime import timedelta

from forge_tui.domain.models import TRASH_PROJECT, utcnow

from .conftest import SIZE
from .helpers import open_conversation, run_palette, wait_connected, wait_until
from .seed import seed_library



def _listed(app) -> set[str]:
    return {c.id for c in app.main_screen.conversation_list.conversations}


async def test_rename_the_open_conversation_from_therun_palette(make_app, store):
    convs = seed_library(store)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_connected(pilot)
        await open_conversation(pilot, convs["plan"].id)
        await run_palette(pilot, "Rename conversation")
        await wait_until(pilot, lambda: bool(app.screen.query("#rename-input")))
        assert app.screen.query_one("#rename-input").value == "Archive storage plan"
        await pilot.press("ctrl+a", "ctrl+k", *"  ", "enter")  # blank: refused inside the prompt
        assert app.screen.query("#rename-input") and "empty" in str(app.screen.query_one("#rename-error").render())
        await pilot.press(*"Archives in Mongo", "enter")
        await wait_until(pilot, lambda: store.get_conversation(convs["plan"].id).title == "Archives in Mongo")
        await wait_until(pilot, lambda: app.controller.state.conversation.title == "Archives in Mongo")
        await wait_until(pilot, lambda: any(c.title == "Archives in Mongo"
                                            for c in app.main_screen.conversation_list.conversations))


async def test_delete_asks_then_trash_and_restore_from_therun_palette(make_app, store):
    convs = seed_library(store)
    plan, bugs = convs["plan"].id, convs["bugs"].id
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_connected(pilot)
        await open_conversation(pilot, plan)
        # from the list: the highlighted conversation, not the open one; "Keep" changes nothing
        await pilot.press("ctrl+o")
        conv_list = app.main_screen.conversation_list
        conv_list.highlighted = conv_list.get_option_index(bugs)
        await run_palette(pilot, "Delete conversation")
        await wait_until(pilot, lambda: bool(app.screen.query("#confirm")))
        assert "Streaming bug in the pane" in app.screen.question
        await pilot.click("#no")
        await pilot.pause(0.2)
        assert not store.get_conversation(bugs).in_trash

        conv_list.focus()
        conv_list.highlighted = conv_list.get_option_index(bugs)
        await run_palette(pilot, "Delete conversation")
        await wait_until(pilot, lambda: bool(app.screen.query("#confirm")))
        await pilot.click("#yes")
        await wait_until(pilot, lambda: store.get_conversation(bugs).in_trash)
        await wait_until(pilot, lambda: bugs not in _listed(app) and plan in _listed(app))
        assert app.main_screen.current_id == plan  # the open conversation stays open

        # the open conversation: deleted, a new blank one takes its place in the same project
        app.main_screen.query_one("#prompt").focus()
        await run_palette(pilot, "Delete conversation")
        await wait_until(pilot, lambda: bool(app.screen.query("#confirm")))
        await pilot.click("#yes")
        await wait_until(pilot, lambda: store.get_conversation(plan).in_trash)
        await wait_until(pilot, lambda: app.main_screen.current_id not in ("", plan) and plan not in _listed(app))
        assert app.controller.state.project == "default"
        assert {c.id for c in store.list_conversations(project=TRASH_PROJECT)} == {plan, bugs}

        await run_palette(pilot, "Restore from trash")
        await wait_until(pilot, lambda: bool(app.screen.query("#trash-options")))
        options = app.screen.query_one("#trash-options")
        options.focus()
        options.highlighted = [o.id for o in options._options].index(bugs)
        await pilot.press("enter")
        await wait_until(pilot, lambda: not store.get_conversation(bugs).in_trash)
        await wait_until(pilot, lambda: bugs in _listed(app))
        assert store.get_conversation(bugs).project == "default" and store.get_conversation(plan).in_trash


async def test_restore_with_an_empty_trash_says_so(make_app, store):
    seed_library(store)
    app = make_app()
    notes: list[str] = []
    async with app.run_test(size=SIZE) as pilot:
        await wait_connected(pilot)
        app.main_screen.notify = lambda message, **kw: notes.append(message)  # type: ignore[method-assign]
        await run_palette(pilot, "Restore from trash")
        await wait_until(pilot, lambda: "The trash is empty." in notes)
        assert not app.screen.query("#trash-options")


def test_rename_prompt_snapshot(snap_compare, make_app, store):
    convs = seed_library(store)

    async def run_before(pilot):
        await wait_connected(pilot)
        await open_conversation(pilot, convs["plan"].id)
        await run_palette(pilot, "Rename conversation")
        await wait_until(pilot, lambda: bool(pilot.app.screen.query("#rename-input")))
        await pilot.pause(0.2)

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run_before)


def test_trash_picker_snapshot(snap_compare, make_app, store):
    convs = seed_library(store)
    # whole days ago (the picker shows days), well inside the 30 days the start-up purge keeps
    store.trash_conversation(convs["bugs"].id, now=utcnow() - timedelta(days=2, hours=1))
    store.trash_conversation(convs["notes"].id, now=utcnow() - timedelta(days=3, hours=1))

    async def run_before(pilot):
        await wait_connected(pilot)
        await open_conversation(pilot, convs["plan"].id)
        await run_palette(pilot, "Restore from trash")
        await wait_until(pilot, lambda: bool(pilot.app.screen.query("#trash-options")))
        await pilot.pause(0.2)

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run_before)
