"""Navigation and layout: scrolling from the prompt, the F1 help screen, the sidebar that
hides below 100 columns, readable titles, one Theme/Quit in the palette, the knowledge pane
at launch, the archive pane following the conversation, search results from the keyboard,
the lineage view only when asked, and lists in turns. Pilot flows on the real store with
the scripted engine, and snapshots of the main screen at 80×24 and 160×48 and of the help."""

from __future__ import annotations

from forge_tui.compression.archive_store import import_archive
from forge_tui.knowledge.registry import Registry
from forge_tui.protocol.example import example_archive
from forge_tui.ui.actions import ACTIONS
from forge_tui.ui.keys import key_name
from forge_tui.ui.screens.help import HelpScreen
from forge_tui.ui.screens.lineage import LineageScreen
from forge_tui.ui.screens.search import SearchScreen
from forge_tui.ui.widgets.archive import ArchivePane
from forge_tui.ui.widgets.conversation import ConversationView, TurnView
from forge_tui.ui.widgets.knowledge import KnowledgePanel
from forge_tui.ui.widgets.prompt import PromptInput
from forge_tui.ui.widgets.sidebar import Sidebar
from forge_tui.ui.widgets.status_line import StatusLine

from .conftest import SIZE
from .helpers import open_conversation, settle, wait_connected, wait_until
from .seed import seed_conversation, seed_library

NARROW = (80, 24)
WIDE = (160, 48)


def _long_conversation(store):
    turns = []
    for i in range(12):
        turns.append(("user", f"Question {i}: how does part {i} work?", "complete"))
        turns.append(("assistant", f"Part {i} works like this.\n\n" + "A line of explanation.\n\n" * 3, "complete"))
    return seed_conversation(store, "default", "A long design discussion", turns, minutes=60)


def _stored_archive(store, conv_id: str) -> str:
    archive = example_archive()
    archive["header"]["source_conversations"] = [conv_id]
    archive["header"]["project"] = "default"
    return import_archive(store, archive)


# -- scrolling from the prompt ---------------------------------------------------
async def test_page_keys_scroll_the_conversation_while_the_prompt_keeps_focus(make_app, store):
    conv = _long_conversation(store)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_connected(pilot)
        await open_conversation(pilot, conv.id)
        view = app.main_screen.query_one(ConversationView)
        prompt = app.main_screen.query_one(PromptInput)
        await wait_until(pilot, lambda: view.max_scroll_y > 0 and view.scroll_y == view.max_scroll_y)
        assert app.focused is prompt
        bottom = view.scroll_y
        await pilot.press("pageup")
        await settle(pilot)
        assert view.scroll_y < bottom and app.focused is prompt
        await pilot.press("pagedown")
        await settle(pilot)
        assert view.scroll_y == bottom
        await pilot.press("home")  # the prompt is empty: the first turn
        await settle(pilot)
        assert view.scroll_y == 0
        await pilot.press("end")
        await settle(pilot)
        assert view.scroll_y == view.max_scroll_y
        # with text in the prompt, Home/End move the cursor and leave the conversation where it is
        await pilot.press(*"draft")
        await pilot.press("home")
        await settle(pilot)
        assert prompt.cursor_location == (0, 0) and view.scroll_y == view.max_scroll_y
        await pilot.press("end")
        assert prompt.cursor_location == (0, 5)
        await pilot.press("ctrl+home")  # with a modifier they always scroll
        await settle(pilot)
        assert view.scroll_y == 0 and prompt.text == "draft" and app.focused is prompt
        await pilot.press("ctrl+end")
        await settle(pilot)
        assert view.scroll_y == view.max_scroll_y


# -- F1 help ----------------------------------------------------------------------
async def test_f1_lists_every_key_from_the_live_bindings_with_the_keymap_applied(make_app, store):
    app = make_app(keymap={"forge.compress": "ctrl+k"})
    async with app.run_test(size=SIZE) as pilot:
        await wait_connected(pilot)
        await pilot.press("f1")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen))
        rows = {row.title: row for row in app.screen.rows}
        for action in ACTIONS:
            if action.key:
                assert action.title in rows, f"{action.title} missing from the help"
        assert rows["Compress"].keys == "Ctrl+K"  # rebound in the keymap
        assert rows["Model"].keys == "Ctrl+M / F2"
        assert rows["Send"].keys == "Enter" and rows["Palette"].keys == "Ctrl+P"
        assert key_name("pageup") in {r.keys for r in app.screen.rows}
        assert rows["Copy"].where == "focused turn" and rows["Cancel queued"].where == "queued message"
        palette = dict(app.screen.palette_only)
        assert "Resolve thread…" in palette and "Compress" not in palette
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is app.main_screen)


# -- the footer -----------------------------------------------------------------------
async def test_the_footer_fits_80_columns(make_app, store):
    """Every key the footer shows is whole on an 80-column screen (none cut off at the edge), with the
    prompt focused and with a turn focused (whose own keys come first and push main keys out)."""
    from textual.widgets._footer import FooterKey

    convs = seed_library(store)
    app = make_app()
    async with app.run_test(size=NARROW) as pilot:
        await wait_connected(pilot)

        async def footer_keys() -> list:
            await settle(pilot, 0.2)
            keys = list(app.main_screen.query(FooterKey))
            for key in keys:
                assert key.region.right <= NARROW[0], f"{key.key_display} {key.description} cut off"
                assert key.region.width >= len(key.key_display) + len(key.description) + 1
            spans = sorted((k.region.x, k.region.right) for k in keys)
            assert all(right <= next_x for (_, right), (next_x, _) in zip(spans, spans[1:])), f"overlap: {spans}"
            return keys

        shown = {k.description for k in await footer_keys()}
        assert shown >= {"Cancel", "New", "Search", "Help", "Quit", "palette"}
        await open_conversation(pilot, convs["plan"].id)
        await pilot.press("alt+up")  # into the conversation: the focused turn's keys come first
        await wait_until(pilot, lambda: isinstance(app.focused, TurnView))
        shown = {k.description for k in await footer_keys()}
        assert {"Copy", "palette"} <= shown


# -- the sidebar --------------------------------------------------------------------
async def test_sidebar_hides_below_100_columns_and_f4_toggles_it(make_app, store):
    seed_library(store)
    app = make_app()
    async with app.run_test(size=NARROW) as pilot:
        await wait_connected(pilot)
        sidebar = app.main_screen.query_one(Sidebar)
        status = app.main_screen.query_one(StatusLine)
        assert not sidebar.display and status.display
        assert "smollm2 · ready" in str(status.render())
        await pilot.press("f4")
        assert sidebar.display and not status.display
        await pilot.press("f4")
        assert not sidebar.display
        await pilot.press("ctrl+o")  # focusing the list shows the sidebar
        await settle(pilot)
        assert sidebar.display and app.focused is app.main_screen.conversation_list
        await pilot.press("f4")  # hiding it gives the focus back to the prompt
        assert not sidebar.display and isinstance(app.focused, PromptInput)
        await pilot.resize_terminal(*SIZE)
        await wait_until(pilot, lambda: sidebar.display)
        assert not status.display
        await pilot.resize_terminal(*NARROW)
        await wait_until(pilot, lambda: not sidebar.display)


async def test_titles_cut_to_fit_show_whole_when_highlighted_and_continued_ones_are_marked(make_app, store):
    long_title = "A very long conversation title about archive storage and lineage edges"
    conv = seed_conversation(store, "default", long_title, [("user", "hi", "complete")], minutes=70)
    archive_id = _stored_archive(store, conv.id)
    from forge_tui.compression.archive_store import continue_from

    continued = continue_from(store, archive_id)
    seed_library(store)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_connected(pilot)
        listing = app.main_screen.conversation_list
        await wait_until(pilot, lambda: any(c.id == conv.id for c in listing.conversations))
        await pilot.press("ctrl+o")
        await settle(pilot)

        def prompt_of(conv_id: str) -> str:
            return str(listing.get_option(conv_id).prompt)

        listing.highlighted = listing.get_option_index(continued.id)
        await settle(pilot)
        assert "↳" in prompt_of(continued.id)
        assert "…" in prompt_of(conv.id) and long_title not in prompt_of(conv.id)
        assert "continued from archive" in str(listing.tooltip)
        listing.highlighted = listing.get_option_index(conv.id)
        await settle(pilot)
        assert long_title in prompt_of(conv.id) and str(listing.tooltip).startswith(long_title)
        assert "↳" in prompt_of(continued.id) and "…" in prompt_of(continued.id)


# -- the palette --------------------------------------------------------------------
async def test_palette_has_one_theme_and_one_quit(make_app, store):
    from textual.command import CommandList

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_connected(pilot)
        await pilot.press("ctrl+p")
        await wait_until(pilot, lambda: bool(app.screen.query(CommandList))
                         and app.screen.query_one(CommandList).option_count > 0)
        await settle(pilot, 0.3)
        commands = app.screen.query_one(CommandList)
        titles = [str(commands.get_option_at_index(i).prompt).split("\n")[0]
                  for i in range(commands.option_count)]
        assert sum(t.startswith("Theme") for t in titles) == 1, titles
        assert sum(t.startswith("Quit") for t in titles) == 1, titles
        assert any(t.startswith("Help") for t in titles) and not any(t.startswith("Keys") for t in titles)


# -- knowledge, archive and lineage follow the session ----------------------------------
async def test_the_knowledge_pane_shows_decisions_and_threads_at_launch(make_app, store):
    reg = Registry(store)
    reg.record_decision("default", "Store archives as their own documents.")
    reg.open_thread("default", "Should exports stream for large tables?")
    app = make_app(features=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_connected(pilot)
        panel = app.main_screen.query_one(KnowledgePanel)
        await wait_until(pilot, lambda: bool(panel.state.decisions) and bool(panel.state.threads))
        listing = panel.query_one("#knowledge-list")
        assert listing.display and listing.option_count >= 4  # two headings, a decision, a thread


async def test_the_archive_pane_follows_the_open_conversation_and_lineage_waits_for_f7(make_app, store):
    convs = seed_library(store)
    plan, bugs = convs["plan"].id, convs["bugs"].id
    archive_id = _stored_archive(store, plan)
    app = make_app(features=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_connected(pilot)
        pane = app.main_screen.query_one(ArchivePane)
        await pilot.press("f3")
        await open_conversation(pilot, plan)
        await wait_until(pilot, lambda: pane.archive_id == archive_id)
        assert pane.state == "ready" and pane.has_class("-visible")
        await open_conversation(pilot, bugs)
        await wait_until(pilot, lambda: pane.state == "empty" and pane.archive_id is None)
        await open_conversation(pilot, plan)
        await wait_until(pilot, lambda: pane.archive_id == archive_id)
        await pilot.press("f6")  # continue: a new conversation, its pane shows the archive it continues
        await wait_until(pilot, lambda: app.main_screen.current_id not in (plan, "")
                         and app.controller.state.conversation.archive_context == archive_id)
        await wait_until(pilot, lambda: "Continued from archive" in str(
            pane.query_one("#archive-title").render()))
        await settle(pilot, 0.3)
        assert not isinstance(app.screen, LineageScreen)
        await pilot.press("f7")
        await wait_until(pilot, lambda: isinstance(app.screen, LineageScreen))
        assert [n["id"] for n in app.screen.lineage.ancestors][:2] == [archive_id, plan]


# -- search from the keyboard -----------------------------------------------------------
async def test_search_results_open_with_enter_from_the_query_box_too(make_app, store):
    convs = seed_library(store)
    app = make_app(features=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_connected(pilot)
        await pilot.press("ctrl+f")
        await wait_until(pilot, lambda: isinstance(app.screen, SearchScreen))
        await pilot.press(*"archive", "enter")
        await wait_until(pilot, lambda: bool(app.screen.hits))
        screen = app.screen
        assert all(h["snippet"] for h in screen.hits)
        box = screen.query_one("#search-input")
        box.focus()  # back in the query box: ↓ moves the highlight, Enter opens it
        await settle(pilot)
        results = screen.query_one("#search-results")
        await pilot.press("down")
        wanted = screen.hits[results.highlighted]
        assert app.focused is box
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.main_screen.current_id == wanted["conversation_id"])
        await settle(pilot, 0.2)
        assert [v.turn.id for v in app.main_screen.query(TurnView) if v.has_class("-focused")] == [
            wanted["message_id"]]
        assert wanted["conversation_id"] in {c.id for c in convs.values()}


# -- lists in turns ---------------------------------------------------------------------
async def test_lists_written_the_way_models_write_them_render_as_lists(make_app, store):
    from textual.widgets._markdown import MarkdownBulletList, MarkdownOrderedList

    conv = seed_conversation(store, "default", "Lists", [
        ("user", "Steps?", "complete"),
        ("assistant", "You need:\n• a store\n• a model\n\nThen:\n2. load it\n3. run it", "complete"),
    ], minutes=80)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_connected(pilot)
        await open_conversation(pilot, conv.id)
        reply = list(app.main_screen.query(TurnView))[-1]
        assert len(reply.query(MarkdownBulletList)) == 1
        assert len(reply.query(MarkdownOrderedList)) == 1


# -- snapshots ------------------------------------------------------------------------
def test_main_screen_80x24(snap_compare, make_app, store):
    convs = seed_library(store)

    async def run_before(pilot):
        await wait_connected(pilot)
        await open_conversation(pilot, convs["plan"].id)

    assert snap_compare(make_app(), terminal_size=NARROW, run_before=run_before)


def test_main_screen_160x48(snap_compare, make_app, store):
    convs = seed_library(store)
    Registry(store).record_decision("default", "Store archives as their own documents.")

    async def run_before(pilot):
        await wait_connected(pilot)
        await open_conversation(pilot, convs["plan"].id)

    assert snap_compare(make_app(features=True), terminal_size=WIDE, run_before=run_before)


def test_help_screen(snap_compare, make_app, store):
    async def run_before(pilot):
        await wait_connected(pilot)
        await pilot.press("f1")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, HelpScreen))
        await settle(pilot, 0.2)

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run_before)
