"""A full context handled honestly, and messages queued while a reply streams: the
SessionController on a scripted engine (its token counts are words + 4 per message) and the
real SecantusDB store. The real tokenizer's overflow path is in test_overflow_smollm2.py."""

from __future__ import annotations

import queue
import time

from forge_tui.config import REPO_ROOT, Settings, load_models
from forge_tui.domain.models import Role, TurnStatus
from forge_tui.engine.base import GenerationResult
from forge_tui.session import events as ev
from forge_tui.session.budget import fill_percent, plan_truncation, reply_outcome, reply_room
from forge_tui.session.controller import SessionController
from ui.fakes import FakeEngine, StoreLinkTo
from ui.features import wire_features


class Recorder:
    def __init__(self):
        self.events: list = []
        self.q: queue.Queue = queue.Queue()

    def __call__(self, event):
        self.events.append(event)
        self.q.put(event)

    def wait_for(self, kind, where=lambda e: True, timeout=20.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                event = self.q.get(timeout=0.05)
            except queue.Empty:
                continue
            if isinstance(event, kind) and where(event):
                return event
        raise AssertionError(f"no {kind.__name__} seen")


class ScriptedEngine(FakeEngine):
    """FakeEngine with a finish of our choosing: "length" after ``stop_after`` pieces, or a server
    that refuses the prompt as too long (its own estimate said it fits; the server disagrees)."""

    def __init__(self, *, finish: str | None = None, stop_after: int = 3, **kwargs):
        super().__init__(**kwargs)
        self.finish = finish
        self.stop_after = stop_after

    def generate(self, request, on_piece, cancel):
        if self.finish is None:
            return super().generate(request, on_piece, cancel)
        self.requests.append(request)
        prompt = self.count_tokens(request.messages)
        if self.finish == "context":
            return GenerationResult("", 0, prompt, "context",
                                    error=f"The conversation ({prompt} tokens) fills this model's context (n_ctx "
                                          f"{self.n_ctx}). Compress it and continue in a new session.")
        if self.finish == "length":
            pieces = ["alpha ", "beta ", "gamma ", "delta "][: self.stop_after]
            for piece in pieces:
                on_piece(piece)
            return GenerationResult("".join(pieces), len(pieces), prompt, "length")
        raise AssertionError(self.finish)


def make(store, *, n_ctx=4096, reply="short reply", delay_s=0.0, features=False, max_reply_tokens=32, **engine_kw):
    models = load_models(REPO_ROOT / "models.toml")
    settings = Settings(max_reply_tokens=max_reply_tokens)
    rec = Recorder()
    engines: list[ScriptedEngine] = []

    def factory(name):
        engines.append(ScriptedEngine(model_name=name, n_ctx=n_ctx, reply=reply, delay_s=delay_s, **engine_kw))
        return engines[-1]

    controller = SessionController(store_link=StoreLinkTo(lambda: store), engine_factory=factory, models=models,
                                   settings=settings, emit=rec,
                                   features=wire_features(store, settings) if features else None)
    controller.start().result(20)
    rec.wait_for(ev.StateChanged, lambda e: e.state.model_status == "ready" and e.state.store_status == "connected")
    return controller, rec, engines


def idle(controller):
    controller.run_on_worker(lambda: None).result(10)


def words(n, word="word"):
    return " ".join([word] * n)


def test_one_percentage_and_the_reply_room_rule():
    assert fill_percent(3100, 4096) == 76 and fill_percent(5210, 4096) == 127  # not capped: 127 % is the truth
    assert fill_percent(10, 0) == 0
    assert reply_room(4096, 1024) == 512 and reply_room(512, 1024) == 64 and reply_room(100, 8) == 16
    assert reply_outcome(GenerationResult("", 0, 10, "stop"), 32)[0] is TurnStatus.ERROR
    status, note = reply_outcome(GenerationResult("abc", 3, 10, "length"), 32)
    assert status is TurnStatus.TRUNCATED and "max_reply_tokens (32)" in note


def test_truncation_cuts_only_before_a_user_turn_and_keeps_system_turns():
    from forge_tui.domain.models import Turn

    roles = [Role.SYSTEM, Role.USER, Role.ASSISTANT, Role.USER, Role.ASSISTANT, Role.USER]
    turns = [Turn(id=str(i), conversation_id="c", seq=i, role=r, content=words(10)) for i, r in enumerate(roles)]
    count = lambda kept: sum(len(t.content.split()) for t in kept)  # noqa: E731
    assert plan_truncation(turns, count, 60) == 0 or plan_truncation(turns, count, 60) is not None
    assert plan_truncation(turns, count, 40) == 2  # user+assistant out; the system turn stays
    assert plan_truncation(turns, count, 20) == 4
    assert plan_truncation(turns, count, 5) is None  # the new message alone does not fit


def test_an_overflowing_message_is_held_unwritten_and_the_meter_agrees_with_the_dialog(store):
    controller, rec, engines = make(store, n_ctx=200)
    controller.send("hello")
    first = rec.wait_for(ev.ReplyFinished)
    controller.send(words(190))
    held = rec.wait_for(ev.ContextOverflowed).overflow
    idle(controller)
    state = controller.state
    assert state.overflow == held and held.text == words(190)
    assert held.prompt_tokens > 200 and held.n_ctx == 200 and held.drop_turns is None
    # one number everywhere: the meter shows the prompt the dialog talks about
    assert state.tokens_used == held.prompt_tokens and f"({held.percent}%)" in held.explain()
    assert state.context_note == held.explain()
    # nothing was written or sent
    assert [t.content for t in store.turns(first.conversation_id)] == ["hello", "short reply"]
    assert len(engines[0].requests) == 1
    # cancel: the text comes back, the banner and the held message go, the meter recounts
    controller.resolve_overflow("cancel")
    returned = rec.wait_for(ev.MessagesReturned)
    idle(controller)
    assert returned.texts == (words(190),) and returned.conversation_id == first.conversation_id
    assert controller.state.overflow is None and controller.state.context_note is None
    assert controller.state.tokens_used < 200
    assert len(store.turns(first.conversation_id)) == 2
    controller.shutdown()


def test_truncating_leaves_out_the_oldest_turns_for_that_request_only(store):
    controller, rec, engines = make(store, n_ctx=300)
    for text in ("first question " + words(40, "one"), "second question " + words(40, "two")):
        controller.send(text)
        rec.wait_for(ev.ReplyFinished)
    controller.send("third " + words(150, "three"))
    held = rec.wait_for(ev.ContextOverflowed).overflow
    assert held.drop_turns == 2
    controller.resolve_overflow("truncate")
    done = rec.wait_for(ev.ReplyFinished)
    sent = [m["content"] for m in engines[0].requests[-1].messages]
    assert not any("one one" in c for c in sent) and any("two two" in c for c in sent)
    assert sent[-1].startswith("third")
    stored = store.turns(done.conversation_id)
    assert len(stored) == 6 and stored[0].content.startswith("first question")  # nothing deleted
    assert done.turn.status is TurnStatus.COMPLETE
    controller.shutdown()


def test_compress_and_continue_sends_the_message_in_the_continued_conversation(store):
    controller, rec, _ = make(store, n_ctx=400, features=True)
    controller.send("We decided to use PostgreSQL 16 for the ledger. " + words(60, "ledger"))
    old = rec.wait_for(ev.ReplyFinished).conversation_id
    controller.send("next step " + words(400, "plan"))
    held = rec.wait_for(ev.ContextOverflowed).overflow
    assert held.can_compress
    controller.resolve_overflow("compress")
    rec.wait_for(ev.ArchiveReady)
    opened = rec.wait_for(ev.ConversationOpened, lambda e: e.conversation.id != old)
    new = opened.conversation
    assert new.archive_context
    # the message, still too long for this context, is asked about again in the new conversation
    again = rec.wait_for(ev.ContextOverflowed).overflow
    assert again.conversation_id == new.id and again.text == held.text
    controller.resolve_overflow("cancel")
    rec.wait_for(ev.MessagesReturned)
    idle(controller)
    # the meter of the continued conversation counts its archive before any turn
    assert controller.state.conversation.id == new.id and controller.state.tokens_used > 20
    assert len(store.turns(old)) == 2 and store.turns(new.id) == []
    controller.shutdown()


def test_compress_and_continue_then_sends_a_message_that_fits(store):
    controller, rec, _ = make(store, n_ctx=800, features=True, max_reply_tokens=16)
    for i in range(4):  # long turns, so that their archive is much shorter than they are
        controller.send(f"Point {i}: we keep the cache on disk. " + words(120, f"w{i}"))
        rec.wait_for(ev.ReplyFinished)
    old = controller.state.conversation.id
    controller.send("what next? " + words(250, "next"))
    rec.wait_for(ev.ContextOverflowed)
    controller.resolve_overflow("compress")
    sent = rec.wait_for(ev.TurnPersisted, lambda e: e.conversation_id != old)
    assert sent.turn.content.startswith("what next?")
    done = rec.wait_for(ev.ReplyFinished, lambda e: e.conversation_id == sent.conversation_id)
    assert done.turn.status is TurnStatus.COMPLETE
    assert [t.content for t in store.turns(old) if t.role is Role.USER][-1].startswith("Point 3")
    controller.shutdown()


def test_a_reply_refused_for_context_is_an_error_turn_with_the_reason(store):
    controller, rec, _ = make(store, finish="context")
    controller.send("hello")
    done = rec.wait_for(ev.ReplyFinished)
    stored = store.get_turn(done.turn.id)
    assert stored.status is TurnStatus.ERROR and stored.content == ""
    assert "fills this model's context" in stored.error and done.message == stored.error
    idle(controller)
    assert controller.state.context_note == stored.error
    # the note clears when it no longer applies: a new conversation
    controller.new_conversation()
    idle(controller)
    assert controller.state.context_note is None
    controller.shutdown()


def test_a_reply_stopped_by_max_reply_tokens_is_truncated_with_a_note(store):
    controller, rec, _ = make(store, finish="length", max_reply_tokens=3)
    controller.send("tell me everything")
    done = rec.wait_for(ev.ReplyFinished)
    stored = store.get_turn(done.turn.id)
    assert stored.status is TurnStatus.TRUNCATED and stored.content == "alpha beta gamma "
    assert "max_reply_tokens (3)" in stored.error
    controller.shutdown()


def test_queued_messages_go_in_order_after_the_reply_and_one_can_be_cancelled(store):
    controller, rec, engines = make(store, reply=words(40), delay_s=0.01)
    controller.send("one")
    rec.wait_for(ev.ReplyStarted)
    controller.send("two")
    controller.send("three")
    controller.send("four")
    queued = rec.wait_for(ev.StateChanged, lambda e: len(e.state.queued_messages) == 3).state.queued_messages
    assert [m.text for m in queued] == ["two", "three", "four"]
    controller.cancel_queued(queued[1].id)
    returned = rec.wait_for(ev.MessagesReturned)
    assert returned.texts == ("three",)
    for _ in range(3):
        last = rec.wait_for(ev.ReplyFinished)
    turns = store.turns(last.conversation_id)
    assert [t.content for t in turns if t.role is Role.USER] == ["one", "two", "four"]
    assert controller.state.queued_messages == ()
    controller.shutdown()


def test_a_queued_message_is_sent_even_when_the_reply_before_it_fails(store):
    controller, rec, _ = make(store, finish="context")
    controller.send("one")
    controller.send("two")
    first = rec.wait_for(ev.ReplyFinished)
    second = rec.wait_for(ev.ReplyFinished)
    assert first.turn.status is second.turn.status is TurnStatus.ERROR
    assert [t.content for t in store.turns(first.conversation_id) if t.role is Role.USER] == ["one", "two"]
    controller.shutdown()


def test_switching_conversations_hands_queued_text_back(store):
    controller, rec, _ = make(store, reply=words(200), delay_s=0.01)
    controller.send("one")
    rec.wait_for(ev.ReplyStarted)
    controller.send("typed while it streamed")
    rec.wait_for(ev.StateChanged, lambda e: len(e.state.queued_messages) == 1)
    controller.new_conversation()
    returned = rec.wait_for(ev.MessagesReturned)
    assert returned.texts == ("typed while it streamed",)
    idle(controller)
    assert controller.state.queued_messages == ()
    controller.shutdown()


def test_the_meter_moves_while_a_reply_streams(store):
    controller, rec, _ = make(store, reply=words(120), delay_s=0.01)
    controller.send("count with me")
    done = rec.wait_for(ev.ReplyFinished)
    during = [e.state.tokens_used for e in rec.events
              if isinstance(e, ev.StateChanged) and e.state.activity == "reply"]
    assert len(set(during)) >= 3 and during == sorted(during)
    idle(controller)
    assert controller.state.tokens_used >= max(during) and done.turn.status is TurnStatus.COMPLETE
    controller.shutdown()
