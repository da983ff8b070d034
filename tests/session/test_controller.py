"""SessionController end to end with the real model: llama.cpp (SmolLM2), real SecantusDB, no UI.
(The fast controller tests, on a scripted engine, are in test_controller_fast.py.)"""

from __future__ import annotations

import queue
import time
from dataclasses import replace
from pathlib import Path

import pytest

from forge_tui.config import REPO_ROOT, Settings, load_models
from forge_tui.domain.models import Role, TurnStatus
from forge_tui.engine.llama_engine import LlamaEngine
from forge_tui.session import events as ev
from forge_tui.session.controller import SessionController
from ui.fakes import StoreLinkTo

pytestmark = pytest.mark.slow


class Recorder:
    def __init__(self):
        self.events: queue.Queue = queue.Queue()

    def __call__(self, event):
        self.events.put(event)

    def wait_for(self, kind, timeout=120, where=lambda e: True):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                event = self.events.get(timeout=0.2)
            except queue.Empty:
                continue
            if isinstance(event, kind) and where(event):
                return event
        raise AssertionError(f"no {kind.__name__} within {timeout}s")


def make_controller(store, tmp_path, n_ctx=2048, max_reply_tokens=48):
    models = load_models(REPO_ROOT / "models.toml")
    models.models["smollm2"] = replace(models.models["smollm2"], n_ctx=n_ctx, n_threads=1)
    rec = Recorder()
    controller = SessionController(
        store_link=StoreLinkTo(lambda: store),
        engine_factory=lambda name: LlamaEngine(models.get(name), cache_dir=Path(tmp_path)),
        models=models, settings=Settings(max_reply_tokens=max_reply_tokens, temperature=0.0), emit=rec,
    )
    return controller, rec


def test_send_streams_and_persists_both_turns(store, tmp_path):
    controller, rec = make_controller(store, tmp_path)
    controller.start().result(30)
    rec.wait_for(ev.StateChanged, where=lambda e: e.state.model_status == 'ready')
    assert controller.send("What is the capital of France?") is not None
    user = rec.wait_for(ev.TurnPersisted).turn
    # the user's turn is in the store before the reply starts
    assert store.get_turn(user.id).content == "What is the capital of France?"
    started = rec.wait_for(ev.ReplyStarted).turn
    assert store.get_turn(started.id).status is TurnStatus.STREAMING
    rec.wait_for(ev.ReplyChunk)
    finished = rec.wait_for(ev.ReplyFinished)
    stored = store.turns(user.conversation_id)
    assert [t.role for t in stored] == [Role.USER, Role.ASSISTANT]
    # complete, or truncated at max_reply_tokens (48) with its note
    assert stored[1].status in (TurnStatus.COMPLETE, TurnStatus.TRUNCATED) and stored[1].content == finished.turn.content
    assert stored[1].content.strip()
    meter = controller.state  # published before the final write's ReplyFinished
    assert 0 < meter.tokens_used <= meter.n_ctx == 2048
    controller.shutdown()


def test_cancel_leaves_a_cancelled_turn_with_partial_text(store, tmp_path):
    controller, rec = make_controller(store, tmp_path, max_reply_tokens=2000)
    controller.start().result(30)
    rec.wait_for(ev.StateChanged, where=lambda e: e.state.model_status == 'ready')
    controller.send("Write a long essay about rivers.")
    rec.wait_for(ev.ReplyChunk)
    assert controller.cancel()
    finished = rec.wait_for(ev.ReplyFinished)
    assert finished.finish == "cancelled"
    turn = store.get_turn(finished.turn.id)
    assert turn.status is TurnStatus.CANCELLED
    assert turn.content == finished.turn.content
    # the session goes on after a cancel
    controller.settings.max_reply_tokens = 24
    controller.send("Thanks.")
    assert rec.wait_for(ev.ReplyFinished).finish in {"stop", "length"}
    controller.shutdown()


def test_overrunning_the_context_stops_cleanly(store, tmp_path):
    controller, rec = make_controller(store, tmp_path, n_ctx=256, max_reply_tokens=500)
    controller.start().result(30)
    rec.wait_for(ev.StateChanged, where=lambda e: e.state.model_status == 'ready')
    # ~215 prompt tokens leave ~40 for a long essay (32 must be free to send): the reply must overrun
    notes = " ".join(f"Step {i}: the river turns north." for i in range(1, 18))
    controller.send(f"Notes: {notes} Now write a long essay about rivers.")
    finished = rec.wait_for(ev.ReplyFinished)
    assert finished.finish == "context"
    assert "n_ctx 256" in finished.message and "Compress" in finished.message
    stored = store.get_turn(finished.turn.id)
    assert stored.status is TurnStatus.TRUNCATED and stored.error == finished.message  # cut short, and why
    # a prompt that cannot fit at all is held before anything is written, and the UI asked
    # (the dialog's choices: tests/session/test_overflow_smollm2.py)
    controller.send("word " * 400)
    held = rec.wait_for(ev.ContextOverflowed).overflow
    assert held.prompt_tokens > 256 and held.drop_turns is None
    assert len(store.turns(finished.turn.conversation_id)) == 2
    controller.shutdown()


def test_reopen_restores_turns_and_continues(store, tmp_path):
    controller, rec = make_controller(store, tmp_path)
    controller.start().result(30)
    rec.wait_for(ev.StateChanged, where=lambda e: e.state.model_status == 'ready')
    controller.send("Remember the number 42.")
    conv_id = rec.wait_for(ev.ReplyFinished).turn.conversation_id
    controller.shutdown()

    again, rec2 = make_controller(store, tmp_path)
    again.start().result(30)
    listed = rec2.wait_for(ev.ConversationsListed)
    assert conv_id in [c.id for c in listed.conversations]
    again.open_conversation(conv_id).result(30)
    opened = rec2.wait_for(ev.ConversationOpened)
    assert [t.content for t in opened.turns][0] == "Remember the number 42."
    again.send("Which number?")
    rec2.wait_for(ev.ReplyFinished)
    assert len(store.turns(conv_id)) == 4
    again.shutdown()


def test_store_unreachable_keeps_the_message_for_later(tmp_path):
    from forge_tui.store.repository import Store

    models = load_models(REPO_ROOT / "models.toml")
    rec = Recorder()
    controller = SessionController(
        store_link=StoreLinkTo(lambda: Store.connect("mongodb://127.0.0.1:1/?directConnection=true", timeout_ms=300)),
        engine_factory=lambda name: LlamaEngine(models.get(name), cache_dir=Path(tmp_path)),
        models=models, settings=Settings(), emit=rec,
    )
    controller.start().result(30)
    failed = rec.wait_for(ev.StateChanged, where=lambda e: e.state.store_status == "failed").state
    assert "not reachable" in failed.store_message and "ctrl+r" in failed.store_message
    assert controller.send("do not lose me")
    kept = rec.wait_for(ev.StateChanged, where=lambda e: bool(e.state.queued_messages)).state
    assert [m.text for m in kept.queued_messages] == ["do not lose me"]
    controller.shutdown()
