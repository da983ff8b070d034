"""SessionController on a scripted engine and the real SecantusDB: one owner of the
state, events tagged with their conversation, nothing announced before it is written."""

from __future__ import annotations

import queue
import threading
import time

from forge_tui.config import REPO_ROOT, Settings, load_models
from forge_tui.domain.models import Role, TurnStatus
from forge_tui.session import events as ev
from forge_tui.session.controller import SessionController
from forge_tui.session.state import SessionView
from ui.fakes import FakeEngine, StoreLinkTo


class Recorder:
    def __init__(self):
        self.events: list = []
        self.q: queue.Queue = queue.Queue()
        self.hook = None

    def __call__(self, event):
        if self.hook is not None:
            self.hook(event)
        self.events.append(event)
        self.q.put(event)

    def wait_for(self, match, timeout=20.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                event = self.q.get(timeout=0.05)
            except queue.Empty:
                continue
            if match(event):
                return event
        raise AssertionError("event not seen")


def make(store, reply="word " * 200, delay_s=0.005, link=None, **extra):
    models = load_models(REPO_ROOT / "models.toml")
    rec = Recorder()
    engine = {}

    def factory(name):
        engine["e"] = FakeEngine(model_name=name, reply=reply, delay_s=delay_s)
        return engine["e"]

    controller = SessionController(store_link=link or StoreLinkTo(lambda: store), engine_factory=factory,
                                   models=models, settings=Settings(), emit=rec, **extra)
    controller.start().result(20)
    rec.wait_for(lambda e: isinstance(e, ev.StateChanged) and e.state.model_status == "ready")
    return controller, rec, engine


def finished(e):
    return isinstance(e, ev.ReplyFinished)


def test_every_shown_piece_is_already_in_the_store(store):
    controller, rec, _ = make(store)
    shown: dict[str, str] = {}
    problems: list[str] = []

    def check(event):  # runs where the UI would receive the event
        if isinstance(event, ev.ReplyChunk):
            shown[event.turn_id] = shown.get(event.turn_id, "") + event.text
            stored = store.get_turn(event.turn_id).content
            if not stored.startswith(shown[event.turn_id]):
                problems.append(f"shown {len(shown[event.turn_id])} chars, stored {len(stored)}")

    rec.hook = check
    controller.send("tell me a story")
    done = rec.wait_for(finished)
    assert not problems
    assert len([e for e in rec.events if isinstance(e, ev.ReplyChunk)]) >= 3  # it streamed
    assert store.get_turn(done.turn.id).content == done.turn.content == "word " * 200
    controller.shutdown()


def test_ctrl_n_mid_reply_keeps_the_reply_in_its_own_conversation(store):
    controller, rec, engine = make(store)
    controller.send("first conversation")
    started = rec.wait_for(lambda e: isinstance(e, ev.ReplyChunk))
    old_id = started.conversation_id
    controller.new_conversation("other")  # at once, from the "UI" thread, mid-reply
    opened = rec.wait_for(lambda e: isinstance(e, ev.ConversationOpened))
    assert opened.conversation.id != old_id and opened.turns == [] and opened.conversation.project == "other"
    done = rec.wait_for(finished)
    assert done.conversation_id == old_id and done.finish == "cancelled"
    controller.run_on_worker(lambda: None).result(5)
    state = controller.state
    assert state.conversation.id == opened.conversation.id and state.turns == () and state.project == "other"
    # the old conversation holds both turns, the cancelled reply with its partial text
    old = store.turns(old_id)
    assert [(t.role, t.status) for t in old] == [(Role.USER, TurnStatus.COMPLETE),
                                                 (Role.ASSISTANT, TurnStatus.CANCELLED)]
    # the new conversation goes on normally
    controller.send("second conversation")
    second = rec.wait_for(finished)
    assert second.conversation_id == opened.conversation.id
    assert [t.content for t in store.turns(opened.conversation.id)][0] == "second conversation"
    controller.shutdown()


def test_every_event_about_a_conversation_names_it(store):
    controller, rec, _ = make(store, reply="short reply")
    controller.send("hello")
    done = rec.wait_for(finished)
    tagged = [e for e in rec.events if isinstance(e, ev.ConversationEvent)]
    assert {type(e) for e in tagged} >= {ev.TurnPersisted, ev.ReplyStarted, ev.ReplyFinished}
    assert {e.conversation_id for e in tagged} == {done.conversation_id}
    controller.shutdown()


def test_a_message_sent_while_a_reply_runs_is_kept_and_sent_after_it(store):
    controller, rec, _ = make(store, reply="word " * 60)
    controller.send("one")
    rec.wait_for(lambda e: isinstance(e, ev.ReplyStarted))
    controller.send("two")
    first = rec.wait_for(finished)
    second = rec.wait_for(finished)
    turns = store.turns(first.conversation_id)
    assert [t.content for t in turns if t.role is Role.USER] == ["one", "two"]
    assert second.turn.seq == 3 and second.finish == "stop"
    controller.shutdown()


def test_the_state_snapshot_is_immutable_and_busy_lives_in_one_place(store):
    controller, rec, _ = make(store)
    controller.send("go")
    busy = rec.wait_for(lambda e: isinstance(e, ev.StateChanged) and e.state.activity == "reply").state
    assert busy.busy and controller.busy
    try:
        busy.activity = "idle"  # type: ignore[misc]
    except AttributeError:
        pass
    else:
        raise AssertionError("SessionState must be frozen")
    controller.compress()  # no archives wired: a notice, never a second owner of "busy"
    controller.cancel()
    rec.wait_for(finished)
    controller.run_on_worker(lambda: None).result(5)
    idle = controller.state
    assert not idle.busy and idle.turns[-1].status is TurnStatus.CANCELLED
    assert busy.turns[-1].status is TurnStatus.STREAMING  # the old snapshot did not change
    controller.shutdown()


def test_quitting_mid_reply_is_quick(store):
    controller, rec, _ = make(store, delay_s=0.05)
    controller.send("long")
    rec.wait_for(lambda e: isinstance(e, ev.ReplyChunk))
    started = time.perf_counter()
    controller.shutdown()
    assert time.perf_counter() - started < 3.0  # generous; bench/session_store.py has the real number
    assert threading.active_count() < 50


def test_readers_built_before_the_controller_follow_it_through_the_view(store):
    """The root builds the view first and gives it to the pipeline, the router and the controller:
    what they read is the controller's last published state and engine, with nothing filled in later."""
    view = SessionView("before")
    assert (view.model(), view.engine(), view.busy()) == ("", None, False)
    watched: list = []
    controller, rec, engine = make(store, view=view, watch_store=watched.append)
    controller.run_on_worker(lambda: None).result(5)
    assert view.state == controller.state and view.project() == controller.state.project
    assert view.model_and_engine() == (controller.state.model, controller.engine) and view.engine() is engine["e"]
    assert watched == [controller.refresh_list]  # started once connected, with the list refresh as its sink
    controller.send("hello")
    rec.wait_for(lambda e: isinstance(e, ev.ReplyChunk))
    assert view.busy()
    rec.wait_for(finished)
    controller.run_on_worker(lambda: None).result(5)
    assert not view.busy() and view.state.turns == controller.state.turns
    controller.shutdown()
