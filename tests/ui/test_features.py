"""Feature panes (issues 3, 4, 5): snapshots of each state and Pilot tests of each flow.

Knowledge, search, retrieval and archive commands run through the session's real feature
actions (``features.wire_features``: Registry, keyword-only SearchService); pane states that
need a model's archive are driven by the events the compression service's results produce.
"""

from __future__ import annotations


from forge_tui.knowledge.registry import Registry
from forge_tui.protocol.example import example_archive
from forge_tui.protocol.render import dump_archive
from forge_tui.session import events as ev
from forge_tui.ui.screens.conflict import ConflictModal
from forge_tui.ui.screens.search import SearchScreen
from forge_tui.ui.widgets.archive import ArchivePane
from forge_tui.ui.widgets.conversation import TurnView
from forge_tui.ui.widgets.knowledge import KnowledgePanel

from .conftest import SIZE
from .helpers import open_conversation, settle, wait_connected, wait_idle, wait_until
from .seed import seed_library

KNOWLEDGE = {
    "project": "default",
    "decisions": [
        {"id": "D001", "project": "default", "text": "Store archives as their own documents", "tier": 0.9,
         "priority": "critical", "status": "active", "decay": False, "conversation_id": None},
        {"id": "D002", "project": "default", "text": "Use Memcached for caching", "tier": 0.6,
         "priority": "high", "status": "active", "decay": False},
        {"id": "D003", "project": "default", "text": "Keep the token meter in the sidebar", "tier": 0.4,
         "priority": "low", "status": "active", "decay": True, "decay_reason": "4 hops since last validated"},
    ],
    "threads": [
        {"id": "T001", "project": "default", "title": "Should exports stream for > 100k rows?", "status": "OPEN"},
        {"id": "T002", "project": "default", "title": "Flicker in the conversation pane", "status": "RESOLVED"},
    ],
    "conflicts": [
        {"id": "C001", "project": "default", "kind": "ambiguous", "status": "pending", "new": "D002",
         "existing": "D004", "existing_project": "default", "basis": "subject", "reason": "same subject: caching",
         "new_text": "Use Memcached for caching", "existing_text": "Use Redis for caching",
         "choices": ["keep_both", "supersede", "reject"]},
        {"id": "C002", "project": "default", "kind": "cross_project", "status": "blocked", "new": "D001",
         "existing": "D001", "existing_project": "trading", "basis": "subject", "reason": "other project"},
    ],
}


def _archive_ready(conversation_id: str) -> ev.ArchiveReady:
    archive = example_archive()
    return ev.ArchiveReady(conversation_id, archive["header"]["archive_id"], dump_archive(archive),
                           5234, 812, "default", [])


# -- snapshots -------------------------------------------------------------------
def test_knowledge_sidebar(snap_compare, make_app, store):
    seed_library(store)

    async def run_before(pilot):
        await wait_connected(pilot)
        pilot.app.bridge.emit(ev.KnowledgeChanged("default", KNOWLEDGE))
        await pilot.pause(0.2)

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run_before)


def test_conflict_modal(snap_compare, make_app, store):
    async def run_before(pilot):
        await wait_connected(pilot)
        pilot.app.bridge.emit(ev.KnowledgeChanged("default", KNOWLEDGE))
        await pilot.pause(0.2)
        panel = pilot.app.main_screen.query_one(KnowledgePanel)
        panel.post_message(KnowledgePanel.Picked(panel, "conflict", KNOWLEDGE["conflicts"][0]))
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, ConflictModal))
        await pilot.pause(0.1)

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run_before)


def test_archive_pane_streaming(snap_compare, make_app, store):
    convs = seed_library(store)
    text = _archive_ready("").yaml

    async def run_before(pilot):
        await wait_connected(pilot)
        await open_conversation(pilot, convs["plan"].id)
        pilot.app.bridge.emit(ev.ArchiveStarted(convs["plan"].id, "default"))
        for i in range(0, 700, 20):
            pilot.app.bridge.emit(ev.ArchivePiece(convs["plan"].id, text[i:i + 20]))
        await pilot.pause(0.3)

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run_before)


def test_archive_pane_ready(snap_compare, make_app, store):
    convs = seed_library(store)

    async def run_before(pilot):
        await wait_connected(pilot)
        await open_conversation(pilot, convs["plan"].id)
        pilot.app.bridge.emit(ev.ArchiveStarted(convs["plan"].id, "default"))
        pilot.app.bridge.emit(_archive_ready(convs["plan"].id))
        await pilot.pause(0.3)

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run_before)


def test_lineage_view(snap_compare, make_app, store):
    convs = seed_library(store)
    plan, bugs = convs["plan"].id, convs["bugs"].id
    archive_id = _archive_ready("").archive_id
    listed = ev.LineageListed(
        bugs, "conversation",
        [{"id": archive_id, "type": "archive", "via": "continued_from", "from": bugs, "depth": 1},
         {"id": plan, "type": "conversation", "via": "compressed_into", "from": archive_id, "depth": 2}],
        [], {plan: "Archive storage plan", bugs: "Streaming bug in the pane"},
    )

    async def run_before(pilot):
        await wait_connected(pilot)
        await open_conversation(pilot, bugs)
        pilot.app.bridge.emit(listed)
        await pilot.pause(0.3)

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run_before)


def test_search_screen(snap_compare, make_app, store):
    seed_library(store)

    async def run_before(pilot):
        await wait_connected(pilot)
        await pilot.press("ctrl+f")
        await pilot.pause(0.1)
        await pilot.press(*"archive", "enter")
        await wait_until(pilot, lambda: bool(pilot.app.screen.hits))
        await pilot.pause(0.2)

    assert snap_compare(make_app(features=True), terminal_size=SIZE,
                        run_before=run_before)


# -- flows -----------------------------------------------------------------------
async def test_ambiguous_conflict_opens_the_modal_and_the_choice_is_persisted(make_app, store):
    app = make_app(features=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_connected(pilot)
        reg = Registry(store)
        old = reg.record_decision("default", "Use Redis for caching.").decision
        new = reg.record_decision("default", "Use Memcached for caching.").decision
        app.controller.refresh_knowledge()
        panel = app.main_screen.query_one(KnowledgePanel)
        await wait_until(pilot, lambda: len(panel.pending_conflicts) == 1)
        assert panel.has_class("-conflicts")
        listing = panel.query_one("#knowledge-list")
        listing.focus()
        listing.highlighted = next(i for i, o in enumerate(listing.options) if o.id.startswith("conflict:"))
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ConflictModal))
        assert "Use Memcached for caching." in str(app.screen.query_one(".conflict-new").render())
        await pilot.click("#supersede")
        await wait_until(pilot, lambda: not panel.pending_conflicts and not panel.has_class("-conflicts"))
    assert reg.get_decision("default", old.id).status == "superseded"
    assert reg.get_decision("default", new.id).status == "active"
    assert reg.pending_conflicts() == []


async def test_search_from_the_palette_opens_the_conversation_at_that_turn(make_app, store):
    convs = seed_library(store)
    app = make_app(features=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_connected(pilot)
        await pilot.press("ctrl+p")
        await pilot.pause(0.2)
        await pilot.press(*"Search", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, SearchScreen))
        await pilot.pause(0.1)
        await pilot.press(*"flicker", "enter")
        await wait_until(pilot, lambda: bool(app.screen.hits))
        hit = app.screen.hits[0]
        assert hit["conversation_id"] == convs["bugs"].id and hit["project"] == "default"
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.main_screen.current_id == convs["bugs"].id)
        await pilot.pause(0.2)
        focused = [v for v in app.main_screen.query(TurnView) if v.has_class("-focused")]
        assert [v.turn.id for v in focused] == [hit["message_id"]]


async def test_picking_a_decision_jumps_to_its_source_turn(make_app, store):
    convs = seed_library(store)
    turns = store.turns(convs["risk"].id)
    app = make_app(features=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_connected(pilot)
        reg = Registry(store)
        reg.record_decision("default", "Never risk more than 2 % live.", sources=[turns[0].id],
                            conversation_id=convs["risk"].id)
        app.controller.refresh_knowledge()
        panel = app.main_screen.query_one(KnowledgePanel)
        await wait_until(pilot, lambda: bool(panel.state.decisions))
        listing = panel.query_one("#knowledge-list")
        listing.focus()
        listing.highlighted = next(i for i, o in enumerate(listing.options) if o.id.startswith("decision:"))
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.main_screen.current_id == convs["risk"].id)
        await pilot.pause(0.2)
        assert [v.turn.id for v in app.main_screen.query(TurnView) if v.has_class("-focused")] == [turns[0].id]


async def test_archive_events_fill_the_pane_and_a_missing_command_is_a_notice(make_app, store):
    convs = seed_library(store)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_connected(pilot)
        await open_conversation(pilot, convs["plan"].id)
        pane = app.main_screen.query_one(ArchivePane)
        assert not pane.has_class("-visible")
        await pilot.press("f3")
        assert pane.has_class("-visible")
        await pilot.press("f6")  # nothing to continue from yet: a notice, no crash
        assert app.is_running
        plan = convs["plan"].id
        app.bridge.emit(ev.ArchiveStarted(plan, "lossless"))
        app.bridge.emit(ev.ArchivePiece(plan, "schema: 1\n"))
        app.bridge.emit(ev.ArchiveFailed(plan, "cut off twice", "schema: 1\n"))
        await wait_until(pilot, lambda: pane.state == "failed")
        app.bridge.emit(ev.ArchiveStarted("another-conversation", "default"))  # not shown: dropped
        app.bridge.emit(_archive_ready(plan))
        await wait_until(pilot, lambda: pane.state == "ready")
        assert pane.archive_id == _archive_ready(plan).archive_id
        await pilot.press("f5")  # no archive actions wired in this controller: a notice, the app keeps running
        await pilot.pause(0.1)
        assert app.is_running




OFFER = {"budget": 600, "items": [
    {"kind": "decision", "text": "D001: Store archives as their own documents", "source": "default/D001",
     "project": "default", "score": 0.9, "tokens": 12},
    {"kind": "constraint", "text": "Never risk more than 2 % live.", "source": "archive:abc/constraints[0]",
     "project": "trading", "score": 0.7, "tokens": 9},
]}


def test_context_tray(snap_compare, make_app, store):
    async def run_before(pilot):
        await wait_connected(pilot)
        pilot.app.bridge.emit(ev.ContextOffered(pilot.app.main_screen.current_id, OFFER["items"], 600))
        await pilot.pause(0.2)

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run_before)


async def test_offered_context_is_shown_and_a_dropped_item_is_persisted(make_app, store):
    """The offer is planted on the conversation (retrieval quality is tested elsewhere);
    unticking an item goes through the real ``keep_context`` into the conversation document."""
    from textual.widgets import SelectionList

    app = make_app(features=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_connected(pilot)
        await pilot.press(*"How should we set up caching?", "enter")
        await wait_idle(pilot)
        conv = app.controller.state.conversation
        items = [{**item, "kept": True} for item in OFFER["items"]]
        store.update_conversation(conv.id, context_items=items)
        app.controller.open_conversation(conv.id)  # the controller reads the planted offer back
        await wait_until(pilot, lambda: app.controller.state.conversation.context_items == items)
        tray = app.main_screen.query_one("#context-tray")
        await wait_until(pilot, lambda: len(tray.items) == 2)
        assert tray.has_class("-visible")
        selections = app.main_screen.query_one(SelectionList)
        selections.focus()
        selections.highlighted = 1
        await pilot.press("space")

        def persisted() -> bool:
            """the conversation document records the dropped item"""
            doc = store.db.conversations.find_one({"_id": conv.id})
            return {r["source"]: r["kept"] for r in doc["context_items"]} == {
                "default/D001": True, "archive:abc/constraints[0]": False}

        await wait_until(pilot, persisted)


async def test_auto_compress_in_ask_mode_asks_first(make_app, store):
    from forge_tui.ui.screens.confirm import ConfirmModal

    app = make_app(features=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_connected(pilot)
        await pilot.press(*"hello", "enter")
        await wait_idle(pilot)
        app.bridge.emit(ev.AutoCompressSuggested(app.main_screen.current_id, 3300, 4096))
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmModal))
        await settle(pilot)  # laid out before the click lands on it
        await pilot.click("#yes")
        pane = app.main_screen.query_one(ArchivePane)
        # the scripted engine writes no YAML: the real compression ends cleanly (deterministic archive or failure)
        await wait_until(pilot, lambda: pane.state in ("ready", "failed"), timeout=90)
        assert pane.has_class("-visible") and app.is_running
