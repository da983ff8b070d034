"""Pilot tests and snapshots: a message that would not fit the context (the dialog and each of its
choices), replies that could not be generated or were cut short, and messages queued while a reply
streams. Scripted engines (token count = words + 4 per message), the real SecantusDB store."""

from __future__ import annotations

import threading

from forge_tui.domain.models import Role, TurnStatus
from forge_tui.engine.base import GenerationResult
from forge_tui.ui.screens.overflow import OverflowModal
from forge_tui.ui.widgets.conversation import TurnView
from forge_tui.ui.widgets.pending import PendingTurnView
from forge_tui.ui.widgets.prompt import PromptInput
from forge_tui.ui.widgets.sidebar import TokenMeter

from .conftest import SIZE
from .fakes import FakeEngine
from .helpers import settle, wait_connected, wait_idle, wait_until

SMALL, LARGE = (80, 24), (160, 48)


class Refusing(FakeEngine):
    """A server whose own count disagrees with Forge's estimate: it refuses the prompt as too long."""

    def generate(self, request, on_piece, cancel):
        self.requests.append(request)
        return GenerationResult("", 0, 5000, "context", error=(
            f"The conversation (about 5000 tokens) fills this model's context (n_ctx {self.n_ctx}). "
            "Compress it and continue in a new session, or switch to a model with a larger context."))


class StopsAtLimit(FakeEngine):
    def generate(self, request, on_piece, cancel):
        self.requests.append(request)
        for piece in ("The first ", "three steps ", "are"):
            on_piece(piece)
        return GenerationResult("The first three steps are", 3, 20, "length")


class Blocking(FakeEngine):
    """Streams one fixed piece, then holds the reply open until ``release`` (or a cancel)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.release = threading.Event()

    def generate(self, request, on_piece, cancel):
        self.requests.append(request)
        self.started.set()
        cancel.wait(0.15)  # past the stream's flush interval, so the piece is written and shown at once
        on_piece("Reading the three files first")
        while not (self.release.is_set() or cancel.is_set()):
            cancel.wait(0.02)
        if cancel.is_set():
            return GenerationResult("Reading the three files first", 1, 10, "cancelled")
        on_piece(" — done.")
        return GenerationResult("Reading the three files first — done.", 2, 10, "stop")


def small_context(n_ctx=200, kind=FakeEngine, **kwargs):
    return lambda name: kind(model_name=name, n_ctx=n_ctx, reply="Short answer.", **kwargs)


async def send(pilot, text: str) -> None:
    prompt = pilot.app.main_screen.query_one(PromptInput)
    prompt.focus()
    prompt.insert(text)
    await pilot.press("enter")


def words(n: int, word: str = "word") -> str:
    return " ".join([word] * n)


async def overflow_dialog(pilot, history: int = 1, long_words: int = 190, history_words: int = 30) -> OverflowModal:
    await wait_connected(pilot)
    for i in range(history):
        await send(pilot, f"question {i} " + words(history_words, f"w{i}"))
        await wait_idle(pilot)
    await send(pilot, "long " + words(long_words))
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, OverflowModal))
    await settle(pilot)
    return pilot.app.screen


async def test_overflow_dialog_cancel_returns_the_text_and_sends_nothing(make_app, store):
    app = make_app(engine_factory=small_context())
    async with app.run_test(size=SIZE) as pilot:
        modal = await overflow_dialog(pilot)
        held = modal.overflow
        meter = app.main_screen.query_one(TokenMeter)
        assert meter.used == held.prompt_tokens and meter.n_ctx == 200  # the meter says what the dialog says
        assert f"({held.percent}%)" in str(modal.query_one("#overflow-explain").render())
        assert "context" in app.main_screen.banner.lines
        await pilot.press("escape")
        prompt = app.main_screen.query_one(PromptInput)
        await wait_until(pilot, lambda: prompt.text.startswith("long word"))
        await wait_until(pilot, lambda: "context" not in app.main_screen.banner.lines)
        [conv] = store.list_conversations()
        assert [t.role for t in store.turns(conv.id)] == [Role.USER, Role.ASSISTANT]


async def test_overflow_dialog_truncate_sends_without_the_oldest_turns(make_app, store):
    engines: list[FakeEngine] = []

    def factory(name):
        engines.append(FakeEngine(model_name=name, n_ctx=300, reply="Short answer."))
        return engines[-1]

    app = make_app(engine_factory=factory)
    async with app.run_test(size=SIZE) as pilot:
        modal = await overflow_dialog(pilot, history=2, long_words=170)
        assert modal.overflow.drop_turns == 2
        await pilot.click("#truncate")
        await wait_until(pilot, lambda: len(engines[-1].requests) == 3)
        await wait_idle(pilot)
        sent = [m["content"] for m in engines[-1].requests[-1].messages]
        assert not any("w0 w0" in c for c in sent) and any("w1 w1" in c for c in sent)
        [conv] = store.list_conversations()
        assert len(store.turns(conv.id)) == 6  # every turn stays in the conversation


async def test_overflow_dialog_compress_continues_and_sends_there(make_app, store):
    app = make_app(engine_factory=small_context(n_ctx=800), features=True)
    async with app.run_test(size=SIZE) as pilot:
        modal = await overflow_dialog(pilot, history=4, long_words=250, history_words=120)
        old = app.controller.state.conversation.id
        assert modal.overflow.can_compress
        await pilot.click("#compress")
        await wait_until(pilot, lambda: app.main_screen.current_id not in (old, ""), timeout=30)
        new = app.main_screen.current_id
        await wait_until(pilot, lambda: any(t.role is Role.ASSISTANT for t in store.turns(new)), timeout=30)
        await wait_idle(pilot)
        assert store.turns(new)[0].content.startswith("long word")
        assert "context" not in app.main_screen.banner.lines  # the banner went with the problem
        assert app.main_screen.query_one(TokenMeter).used > 0


async def test_a_reply_refused_for_context_is_an_error_turn_showing_why(make_app, store):
    app = make_app(engine_factory=small_context(kind=Refusing))
    async with app.run_test(size=SIZE) as pilot:
        await wait_connected(pilot)
        await send(pilot, "hello there")
        await wait_idle(pilot)
        reply = [v for v in app.main_screen.query(TurnView) if v.turn.role is Role.ASSISTANT][-1]
        assert reply.turn.status is TurnStatus.ERROR
        note = str(reply.query_one(".turn-note").render())
        assert "fills this model's context" in note
        [conv] = store.list_conversations()
        stored = store.turns(conv.id)[-1]
        assert stored.status is TurnStatus.ERROR and "fills this model's context" in stored.error
        assert "context" in app.main_screen.banner.lines
        app.controller.new_conversation()
        await wait_until(pilot, lambda: "context" not in app.main_screen.banner.lines)


async def test_a_reply_stopped_by_max_reply_tokens_says_so(make_app, store):
    app = make_app(engine_factory=small_context(kind=StopsAtLimit, n_ctx=4096))
    async with app.run_test(size=SIZE) as pilot:
        await wait_connected(pilot)
        await send(pilot, "list the steps")
        await wait_idle(pilot)
        reply = [v for v in app.main_screen.query(TurnView) if v.turn.role is Role.ASSISTANT][-1]
        assert reply.turn.status is TurnStatus.TRUNCATED and reply.has_class("-truncated")
        assert "max_reply_tokens" in str(reply.query_one(".turn-note").render())
        [conv] = store.list_conversations()
        assert store.turns(conv.id)[-1].status is TurnStatus.TRUNCATED


async def test_enter_during_a_reply_queues_and_sends_after(make_app, store):
    engines: list[Blocking] = []

    def factory(name):
        engines.append(Blocking(model_name=name))
        return engines[-1]

    app = make_app(engine_factory=factory)
    async with app.run_test(size=SIZE) as pilot:
        await wait_connected(pilot)
        await send(pilot, "read the files")
        await wait_until(pilot, lambda: app.main_screen.busy)
        await send(pilot, "then fix the bug")
        await send(pilot, "and run the tests")
        await wait_until(pilot, lambda: len(app.main_screen.query(PendingTurnView)) == 2)
        prompt = app.main_screen.query_one(PromptInput)
        assert prompt.text == ""  # taken: shown as pending turns
        engines[-1].release.set()
        await wait_until(pilot, lambda: not app.main_screen.query(PendingTurnView) and len(engines[-1].requests) == 3)
        await wait_idle(pilot)
        [conv] = store.list_conversations()
        assert [t.content for t in store.turns(conv.id) if t.role is Role.USER] == [
            "read the files", "then fix the bug", "and run the tests"]


async def test_a_queued_message_is_cancelled_with_esc_on_it_or_from_the_palette(make_app, store):
    engines: list[Blocking] = []

    def factory(name):
        engines.append(Blocking(model_name=name))
        return engines[-1]

    app = make_app(engine_factory=factory)
    async with app.run_test(size=SIZE) as pilot:
        await wait_connected(pilot)
        await send(pilot, "read the files")
        await wait_until(pilot, lambda: app.main_screen.busy)
        await send(pilot, "first queued")
        await send(pilot, "second queued")
        await wait_until(pilot, lambda: len(app.main_screen.query(PendingTurnView)) == 2)
        first = app.main_screen.query(PendingTurnView).first()
        first.focus()
        await pilot.press("escape")  # on the pending turn: cancels it, not the reply
        await wait_until(pilot, lambda: len(app.main_screen.query(PendingTurnView)) == 1)
        prompt = app.main_screen.query_one(PromptInput)
        assert prompt.text == "first queued" and app.main_screen.busy
        await app.main_screen.run_action("cancel_queued")  # the palette's "Cancel queued message"
        await wait_until(pilot, lambda: not app.main_screen.query(PendingTurnView))
        assert prompt.text == "first queued\n\nsecond queued"
        engines[-1].release.set()
        await wait_idle(pilot)
        [conv] = store.list_conversations()
        assert [t.content for t in store.turns(conv.id) if t.role is Role.USER] == ["read the files"]


def _overflow_snapshot(snap_compare, make_app, size):
    async def run_before(pilot):
        await overflow_dialog(pilot, history=2, long_words=170)  # every choice open

    return snap_compare(make_app(engine_factory=small_context(n_ctx=300), features=True), terminal_size=size,
                        run_before=run_before)


def test_overflow_dialog_80x24(snap_compare, make_app, store):
    assert _overflow_snapshot(snap_compare, make_app, SMALL)


def test_overflow_dialog_160x48(snap_compare, make_app, store):
    assert _overflow_snapshot(snap_compare, make_app, LARGE)


def _queued_snapshot(snap_compare, make_app, size):
    def factory(name):
        return Blocking(model_name=name)

    async def run_before(pilot):
        await wait_connected(pilot)
        await send(pilot, "read the files")
        await wait_until(pilot, lambda: any(v.streamed_chars for v in pilot.app.main_screen.query(TurnView)))
        await send(pilot, "then fix the bug in parser.py")
        await wait_until(pilot, lambda: len(pilot.app.main_screen.query(PendingTurnView)) == 1)
        pilot.app.controller.refresh_list()  # the list's turn count, after both turns are written
        await wait_until(pilot, lambda: [c.turn_count for c in pilot.app.main_screen.conversations] == [2])
        await settle(pilot, 0.3)

    return snap_compare(make_app(engine_factory=factory), terminal_size=size, run_before=run_before)


def test_queued_turn_80x24(snap_compare, make_app, store):
    assert _queued_snapshot(snap_compare, make_app, SMALL)


def test_queued_turn_160x48(snap_compare, make_app, store):
    assert _queued_snapshot(snap_compare, make_app, LARGE)
