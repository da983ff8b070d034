"""Pilot tests of the chat flow on the real SecantusDB store with a scripted engine."""

from __future__ import annotations

from forge_tui.domain.models import TurnStatus
from forge_tui.session import events as ev
from forge_tui.ui.messages import SessionEventPosted
from forge_tui.ui.widgets.conversation import TurnView
from forge_tui.ui.widgets.prompt import PromptInput

from .conftest import SIZE
from .helpers import wait_connected, wait_idle, wait_until
from .seed import PLAN_TURNS, seed_library


def _docs(store):
    return list(store.db.messages.find({}, sort=[("seq", 1)]))


async def test_typed_message_streams_a_reply_and_both_turns_are_stored(make_app, store):
    seen: list[type] = []
    app = make_app()
    def hook(message) -> None:
        if isinstance(message, SessionEventPosted):
            seen.append(message.event_type)

    async with app.run_test(size=SIZE, message_hook=hook) as pilot:
        await wait_connected(pilot)
        await pilot.press(*"plan the refactor")
        await pilot.press("enter")
        await wait_until(pilot, lambda: ev.ReplyStarted in seen)
        await wait_idle(pilot)
        views = list(app.main_screen.query(TurnView))
        assert [v.turn.role.value for v in views] == ["user", "assistant"]
        assert views[1].turn.status is TurnStatus.COMPLETE
        assert "Read the file" in views[1].turn.content
        assert app.main_screen.query_one(PromptInput).text == ""
        assert ev.ReplyChunk in seen and ev.ReplyFinished in seen
        assert app.main_screen.tokens_used > 0
    docs = _docs(store)
    assert [(d["role"], d["status"]) for d in docs] == [("user", "complete"), ("assistant", "complete")]
    assert docs[0]["content"] == "plan the refactor"
    assert docs[1]["content"].startswith("Sure. Here is a **plan**")


async def test_escape_mid_reply_cancels_and_the_app_keeps_running(make_app, store):
    app = make_app(reply="word " * 400, delay_s=0.02)
    async with app.run_test(size=SIZE) as pilot:
        await wait_connected(pilot)
        await pilot.press(*"write a long essay")
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.main_screen.busy)
        await pilot.pause(0.3)
        await pilot.press("escape")
        await wait_idle(pilot)
        assert app.is_running
        reply = list(app.main_screen.query(TurnView))[-1]
        assert reply.turn.status is TurnStatus.CANCELLED
        assert reply.has_class("-cancelled")
        # the app still works: a second message gets a reply
        await pilot.press(*"again")
        await pilot.press("enter")
        await wait_until(pilot, lambda: len(_docs(store)) == 4 and app.main_screen.busy, timeout=30)
        await pilot.press("escape")
        await wait_idle(pilot)
    docs = _docs(store)
    assert docs[1]["status"] == "cancelled"
    assert 0 < len(docs[1]["content"]) < len("word " * 400)


async def test_opening_a_conversation_from_the_list_restores_its_turns(make_app, store):
    convs = seed_library(store)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_connected(pilot)
        await pilot.press("ctrl+o")
        conv_list = app.main_screen.conversation_list
        assert conv_list.has_focus
        conv_list.highlighted = conv_list.get_option_index(convs["plan"].id)
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.main_screen.current_id == convs["plan"].id)
        await pilot.pause(0.2)
        views = list(app.main_screen.query(TurnView))
        assert [v.turn.content for v in views] == [t[1] for t in PLAN_TURNS]
        assert views[-1].has_class("-cancelled")
        assert app.controller.state.conversation.id == convs["plan"].id
        # typing continues the opened conversation
        await pilot.press(*"go on")
        await pilot.press("enter")
        await wait_until(pilot, lambda: store.db.messages.count_documents(
            {"conversation_id": convs["plan"].id}) == 6)
        await wait_idle(pilot)


async def test_new_conversation_asks_for_the_project(make_app, store):
    seed_library(store)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_connected(pilot)
        await pilot.press("ctrl+n")
        await pilot.pause(0.1)
        await pilot.press(*"research", "enter")
        await wait_until(pilot, lambda: app.main_screen.project == "research")
        await pilot.press(*"new idea")
        await pilot.press("enter")
        await wait_idle(pilot)
    conv = store.db.conversations.find_one({"title": "new idea"})
    assert conv["project"] == "research"


async def test_huge_paste_does_not_go_into_the_editor_and_is_sent_whole(make_app, store):
    from textual import events

    from .fakes import FakeEngine

    big = ("x" * 99 + "\n") * 10_486  # ~1 MB
    # a context that holds it (a smaller one asks first: tests/ui/test_overflow_queue.py)
    app = make_app(engine_factory=lambda name: FakeEngine(model_name=name, n_ctx=100_000))
    async with app.run_test(size=SIZE) as pilot:
        await wait_connected(pilot)
        prompt = app.main_screen.query_one(PromptInput)
        prompt.post_message(events.Paste(big))
        await pilot.pause(0.1)
        assert prompt.text.startswith("[paste #1: 1,048,600 chars]")
        await pilot.press("enter")
        await wait_idle(pilot)
        user_view = list(app.main_screen.query(TurnView))[0]
        assert "more characters not shown" in user_view.query_one(".turn-body").source
    doc = store.db.messages.find_one({"role": "user"})
    assert doc["content"] == big.strip()


async def test_model_picker_switches_models(make_app, store):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_connected(pilot)
        await pilot.press("f2")
        await pilot.pause(0.1)
        await pilot.press("down", "enter")
        await wait_until(pilot, lambda: app.main_screen.model_label == "gemma3-270m · ready")
        assert app.controller.state.model == "gemma3-270m"
        assert app.main_screen.n_ctx == 8192


async def test_store_unreachable_keeps_the_message_and_sends_it_after_retry(make_app, store):
    from pymongo.errors import ServerSelectionTimeoutError

    reachable = {"ok": False}

    def flaky():
        if not reachable["ok"]:
            raise ServerSelectionTimeoutError("connection refused")
        return store

    app = make_app(store_factory=flaky)
    async with app.run_test(size=SIZE) as pilot:
        banner = app.main_screen.banner
        await wait_until(pilot, lambda: "store" in banner.lines)
        assert "ctrl+r" in banner.lines["store"]
        await pilot.press(*"keep me")
        await pilot.press("enter")
        await wait_until(pilot, lambda: [m.text for m in app.controller.state.queued_messages] == ["keep me"])
        assert "1 message(s) waiting" in banner.lines["store"]
        reachable["ok"] = True
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: "store" not in banner.lines)
        await wait_until(pilot, lambda: store.db.messages.count_documents({}) == 2)
        await wait_idle(pilot)
        assert app.main_screen.query_one(PromptInput).text == ""
        assert [v.turn.content for v in app.main_screen.query(TurnView)][0] == "keep me"
    assert store.db.messages.find_one({"role": "user"})["content"] == "keep me"


async def test_theme_switch_and_palette_lists_every_action(make_app, store):
    from forge_tui.ui.actions import ACTIONS
    from forge_tui.ui.commands import ForgeCommands

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_connected(pilot)
        assert app.theme == "forge-dark"
        await pilot.press("ctrl+t")
        assert app.theme == "forge-light"
        provider = ForgeCommands(app.main_screen)
        titles = [hit.text async for hit in provider.discover()]
        assert len(titles) == len(ACTIONS)
        await pilot.press("ctrl+p")
        await pilot.pause(0.2)
        await pilot.press(*"Archive", "enter")
        await pilot.pause(0.2)
        assert app.main_screen.query_one("#archive").has_class("-visible")


async def test_keymap_rebinds_actions_by_binding_id(make_app, store):
    app = make_app(keymap={"forge.theme": "f12", "forge.model": "f11"})
    async with app.run_test(size=SIZE) as pilot:
        await wait_connected(pilot)
        await pilot.press("f12")
        assert app.theme == "forge-light"
        await pilot.press("f11")
        await pilot.pause(0.1)
        from forge_tui.ui.screens.model_picker import ModelPicker

        assert isinstance(app.screen, ModelPicker)


async def test_long_conversation_opens_newest_turns_and_loads_older_on_demand(make_app, store):
    from forge_tui.ui.widgets.conversation import SHOWN_TURNS

    from .seed import seed_conversation

    turns = [("user" if i % 2 == 0 else "assistant", f"turn {i}", "complete") for i in range(2 * SHOWN_TURNS + 5)]
    conv = seed_conversation(store, "default", "Long one", turns)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_connected(pilot)
        app.controller.open_conversation(conv.id)
        await wait_until(pilot, lambda: len(app.main_screen.query(TurnView)) == SHOWN_TURNS)
        shown = [v.turn.content for v in app.main_screen.query(TurnView)]
        assert shown[-1] == f"turn {len(turns) - 1}"
        await app.main_screen.conversation_view.show_older()
        await pilot.pause(0.1)
        views = list(app.main_screen.query(TurnView))
        assert len(views) == 2 * SHOWN_TURNS and views[0].turn.content == "turn 5"
        button = app.main_screen.query_one("#older-turns")
        assert "5 earlier" in str(button.label)
        await app.main_screen.conversation_view.show_older()
        await pilot.pause(0.1)
        assert [v.turn.content for v in app.main_screen.query(TurnView)][:2] == ["turn 0", "turn 1"]
        assert not app.main_screen.query("#older-turns")


async def test_a_model_that_fails_to_load_is_a_banner_and_another_can_be_picked(make_app, store):
    from .fakes import FakeEngine

    def engine_factory(name):
        if name == "smollm2":
            return FakeEngine(model_name=name, fail_load="GGUF file is truncated: re-download it")
        return FakeEngine(model_name=name, n_ctx=8192)

    app = make_app(engine_factory=engine_factory)
    async with app.run_test(size=SIZE) as pilot:
        banner = app.main_screen.banner
        await wait_until(pilot, lambda: "model" in banner.lines)
        assert "truncated" in banner.lines["model"] and "f2" in banner.lines["model"]
        assert app.main_screen.model_label == "smollm2 · failed"
        await pilot.press("f2", "down", "enter")
        await wait_until(pilot, lambda: app.main_screen.model_label == "gemma3-270m · ready")
        assert "model" not in banner.lines
