"""Copy (OSC 52 captured from the driver), regenerate and browse versions, edit and resend as a
branch (with its lineage edge): Pilot flows on the real store with the scripted engine, and
snapshots of a branch view (a reply showing version 2/2) at 80×24 and 160×48."""

from __future__ import annotations

import asyncio
import base64
import re

from textual.pilot import WaitForScreenTimeout
from textual.selection import Selection
from textual.widgets._markdown import MarkdownParagraph

from forge_tui.domain.models import Role
from forge_tui.ui.screens.branches import CodePicker, EditPrompt
from forge_tui.ui.widgets.conversation import TurnView
from forge_tui.ui.widgets.turn_markdown import FenceCopy

from .conftest import SIZE
from .fakes import DEFAULT_REPLY
from .helpers import open_conversation, settle, wait_connected, wait_idle
from .helpers import wait_until as _wait_until
from .seed import PLAN_TURNS, seed_library

OSC52 = re.compile(r"\x1b\]52;c;([A-Za-z0-9+/=]*)\x07")
SECOND = "A second answer:\n\n```sh\nforge show ID\n```\n\nand a second block:\n\n```python\nx = 2\n```\n"


async def wait_until(pilot, predicate, timeout: float = 60.0) -> None:
    """``helpers.wait_until`` with room for a loaded machine (a reply of the scripted engine, a
    remount of the branch, each wait for the UI's own queue)."""
    await _wait_until(pilot, predicate, timeout)


async def press(pilot, *keys: str) -> None:
    """``pilot.press``, tolerating Textual's wait-for-screen race (see ``helpers.settle``): a key that
    switches branches removes turn views while the pilot waits for every widget to answer."""
    try:
        await pilot.press(*keys)
    except WaitForScreenTimeout:
        await asyncio.sleep(0.1)


def capture_clipboard(app) -> list[str]:
    """Every text the app writes to the terminal's clipboard (the OSC 52 sequences sent to the driver)."""
    copied: list[str] = []
    driver = app._driver
    write = driver.write

    def spy(data: str) -> None:
        copied.extend(base64.b64decode(m).decode("utf-8") for m in OSC52.findall(data))
        write(data)

    driver.write = spy
    return copied


def views(app) -> list[TurnView]:
    return list(app.main_screen.conversation_view.query(TurnView))


def header(view: TurnView) -> str:
    return str(view.query_one(".turn-header").render())


async def send(pilot, text: str) -> None:
    app = pilot.app
    app.main_screen.query_one("#prompt").focus()
    await press(pilot, *text, "enter")
    await wait_until(pilot, lambda: len(views(app)) >= 2 and views(app)[-1].turn.role is Role.ASSISTANT
                     and views(app)[-2].turn.content == text)
    await wait_idle(pilot, timeout=60)


async def test_copy_the_last_reply_a_code_block_and_a_selection(make_app, store, monkeypatch):
    for name in ("TMUX", "STY", "TERM_PROGRAM"):
        monkeypatch.delenv(name, raising=False)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_connected(pilot)
        copied = capture_clipboard(app)
        await send(pilot, "plan it")
        await press(pilot, "f9")  # from the prompt: the last reply
        await wait_until(pilot, lambda: copied == [DEFAULT_REPLY])

        await press(pilot, "alt+up")  # into the conversation: the last turn has focus
        assert isinstance(app.focused, TurnView) and app.focused.turn.role is Role.ASSISTANT
        await press(pilot, "y")  # its one code block
        await wait_until(pilot, lambda: copied[-1] == "print('done')")
        await press(pilot, "up", "c")  # the message before it
        await wait_until(pilot, lambda: copied[-1] == "plan it")

        button = views(app)[-1].query_one(FenceCopy)  # the block's own button (shown: its turn has focus)
        views(app)[-1].focus()

        def button_on_screen() -> bool:
            """the copy button is in view"""
            region = button.region
            if region.width and region.y >= 0 and region.bottom <= app.screen.size.height - 4:
                return True
            button.scroll_visible(animate=False, immediate=True)
            return False

        await wait_until(pilot, button_on_screen)
        await settle(pilot, 0.2)
        await pilot.click(button, offset=(button.size.width - 2, 0))
        await wait_until(pilot, lambda: len(copied) == 4 and copied[-1] == "print('done')")

        # Textual's selection inside a turn still works: select a paragraph, ctrl+c copies it
        views(app)[-1].focus()
        paragraph = views(app)[-1].query(MarkdownParagraph).first()
        app.screen.selections = {paragraph: Selection(None, None)}
        await press(pilot, "ctrl+c")
        await wait_until(pilot, lambda: copied[-1].startswith("Sure. Here is a plan"))


async def test_a_terminal_known_to_drop_clipboard_writes_gets_a_fallback(make_app, store, monkeypatch):
    monkeypatch.setenv("TERM_PROGRAM", "Apple_Terminal")
    app = make_app()
    notes: list[str] = []
    async with app.run_test(size=SIZE) as pilot:
        await wait_connected(pilot)
        await send(pilot, "plan it")
        app.notify = lambda message, **kw: notes.append(message)  # type: ignore[method-assign]
        await press(pilot, "f9")
        await wait_until(pilot, lambda: bool(notes))
        assert "macOS Terminal" in notes[-1] and "forge show" in notes[-1] and "ctrl+c" in notes[-1]


async def test_regenerate_keeps_the_old_reply_and_versions_browse(make_app, store, monkeypatch):
    monkeypatch.delenv("TERM_PROGRAM", raising=False)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_connected(pilot)
        await send(pilot, "plan it")
        first = views(app)[-1].turn
        app.controller.engine.reply = SECOND
        await press(pilot, "ctrl+g")
        await wait_until(pilot, lambda: views(app)[-1].turn.id != first.id)
        await wait_idle(pilot, timeout=60)
        await wait_until(pilot, lambda: "‹ 2/2 ›" in header(views(app)[-1]))
        assert [v.turn.content for v in views(app)] == ["plan it", SECOND]
        assert store.get_turn(first.id).content == DEFAULT_REPLY  # kept, never deleted

        # two code blocks: the palette entry asks which one
        copied = capture_clipboard(app)
        app.action_command_palette()
        await settle(pilot, 0.2)
        await press(pilot, *"Copy code block")
        await settle(pilot, 0.3)
        await press(pilot, "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, CodePicker))
        await press(pilot, "down", "enter")
        await wait_until(pilot, lambda: copied == ["x = 2"])

        await press(pilot, "alt+left")  # from the prompt: the last turn that has versions
        await wait_until(pilot, lambda: views(app)[-1].turn.id == first.id)
        assert "‹ 1/2 ›" in header(views(app)[-1])
        assert store.get_conversation(first.conversation_id).head == first.id
        await press(pilot, "alt+up", "right_square_bracket")  # on the focused turn: ]
        await wait_until(pilot, lambda: views(app)[-1].turn.content == SECOND)
        assert isinstance(app.focused, TurnView) and "‹ 2/2 ›" in header(app.focused)


async def test_edit_an_earlier_message_branches_and_the_original_stays_reachable(make_app, store):
    convs = seed_library(store)
    plan = convs["plan"].id
    app = make_app(reply="Marked cancelled; nothing is lost.")
    async with app.run_test(size=SIZE) as pilot:
        await wait_connected(pilot)
        await open_conversation(pilot, plan)
        original = [v.turn for v in views(app)]
        await press(pilot, "alt+up", "up", "e")  # the last message of mine
        await wait_until(pilot, lambda: isinstance(app.screen, EditPrompt))
        assert app.screen.query_one("#edit-input").text == PLAN_TURNS[2][1]
        await press(pilot, "end", *" Briefly.", "enter")
        await wait_until(pilot, lambda: len(views(app)) == 4 and views(app)[2].turn.id != original[2].id)
        await wait_idle(pilot, timeout=60)
        edited = views(app)[2].turn
        assert edited.content == PLAN_TURNS[2][1] + " Briefly." and edited.parent_id == original[1].id
        assert views(app)[3].turn.content == "Marked cancelled; nothing is lost."
        await wait_until(pilot, lambda: "‹ 2/2 ›" in header(views(app)[2]))
        assert [v.turn.id for v in views(app)[:2]] == [t.id for t in original[:2]]  # before the fork: unchanged
        edges = store.branch_edges(plan)
        assert [(e["src"], e["dst"], e["how"]) for e in edges] == [(original[2].id, edited.id, "edit")]
        await wait_until(pilot, lambda: next(c for c in app.main_screen.conversations if c.id == plan).turn_count == 4)

        assert app.focused is app.main_screen.query_one("#prompt")
        await press(pilot, "alt+left")  # the original branch, whole
        await wait_until(pilot, lambda: [v.turn.id for v in views(app)] == [t.id for t in original])
        assert "‹ 1/2 ›" in header(views(app)[2])
        assert [t.id for t in store.active_turns(plan)] == [t.id for t in original]


def _branch_view_snapshot(snap_compare, make_app, store, size) -> bool:
    convs = seed_library(store)

    async def run_before(pilot):
        app = pilot.app
        await wait_connected(pilot)
        await open_conversation(pilot, convs["plan"].id)
        app.controller.engine.reply = SECOND
        await press(pilot, "ctrl+g")
        await wait_until(pilot, lambda: views(app)[-1].turn.content == SECOND)
        await wait_idle(pilot, timeout=60)
        await wait_until(pilot, lambda: "‹ 2/2 ›" in header(views(app)[-1]))
        await press(pilot, "alt+up")
        await settle(pilot, 0.3)

    return snap_compare(make_app(), terminal_size=size, run_before=run_before)


def test_branch_view_snapshot_80x24(snap_compare, make_app, store):
    assert _branch_view_snapshot(snap_compare, make_app, store, (80, 24))


def test_branch_view_snapshot_160x48(snap_compare, make_app, store):
    assert _branch_view_snapshot(snap_compare, make_app, store, (160, 48))
