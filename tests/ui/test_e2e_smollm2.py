"""End to end: the real SmolLM2 through LlamaEngine, the real store, the real app."""

from __future__ import annotations

import pytest
from textual import events

from forge_tui.config import REPO_ROOT, Settings, load_models
from forge_tui.domain.models import TurnStatus
from forge_tui.session.controller import SessionController
from forge_tui.ui.app import ForgeApp
from forge_tui.session import events as ev
from forge_tui.ui.messages import SessionEventPosted
from forge_tui.ui.widgets.conversation import TurnView
from forge_tui.ui.widgets.prompt import PromptInput

from .conftest import SIZE
from .fakes import StoreLinkTo
from .helpers import wait_idle, wait_until

pytestmark = pytest.mark.slow


@pytest.fixture
def real_app(store, tmp_path):
    from forge_tui.engine.llama_engine import LlamaEngine

    models_file = REPO_ROOT / "models.toml"
    models = load_models(models_file)
    settings = Settings(max_reply_tokens=64, temperature=0.0)

    def controller_factory(emit):
        return SessionController(
            store_link=StoreLinkTo(lambda: store),
            engine_factory=lambda name: LlamaEngine(models.get(name), cache_dir=tmp_path / "cache",
                                                    base_dir=models_file.parent),
            models=models, settings=settings, emit=emit,
        )

    return ForgeApp(controller_factory=controller_factory, settings=settings, themes_dirs=[REPO_ROOT / "themes"],
                    models_file=models_file, watch_files=False)


async def test_real_reply_streams_and_escape_leaves_a_cancelled_turn(real_app, store):
    app = real_app
    streamed: list[int] = []
    hook = lambda m: streamed.append(1) if isinstance(m, SessionEventPosted) and m.event_type is ev.ReplyChunk else None  # noqa: E731
    async with app.run_test(size=SIZE, message_hook=hook) as pilot:
        await wait_until(pilot, lambda: app.main_screen.model_label == "smollm2 · ready"
                         and app.controller.state.store_status == "connected", timeout=120)
        await pilot.press(*"Write three sentences about rivers.")
        await pilot.press("enter")
        await wait_until(pilot, lambda: len(store.db.messages.find_one({"role": "assistant"}) or {}) > 0, timeout=30)
        await wait_idle(pilot, timeout=120)
        reply = list(app.main_screen.query(TurnView))[-1]
        assert reply.turn.status is TurnStatus.COMPLETE
        assert reply.turn.content.strip()
        assert len(streamed) >= 2, "the reply arrived in one piece instead of streaming"
        # Esc while a long prompt (~2,000 tokens, pasted) is being processed: a reply of a
        # small model can finish before a key press returns, its prompt processing cannot
        # (mid-stream cancels with the real model: tests/session/test_controller.py)
        notes = "\n".join(f"Note {i}: build step {i} passed after retrying the cache." for i in range(150))
        prompt = app.main_screen.query_one(PromptInput)
        prompt.post_message(events.Paste("Summarise these notes:\n" + notes))
        await pilot.pause(0.1)
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.controller.busy, timeout=30)
        await pilot.press("escape")
        await wait_idle(pilot, timeout=120)
        assert app.is_running
        assert list(app.main_screen.query(TurnView))[-1].turn.status is TurnStatus.CANCELLED
    docs = list(store.db.messages.find({}, sort=[("seq", 1)]))
    assert [d["role"] for d in docs] == ["user", "assistant", "user", "assistant"]
    assert docs[1]["status"] == "complete" and docs[1]["content"].strip()
    assert docs[3]["status"] == "cancelled"


async def test_real_replies_survive_keys_at_random_moments(real_app, store):
    """The smaller real-model loop beside test_random_keys.py: Ctrl+N, Esc, F5 and F2 pressed at
    random moments of SmolLM2 replies (seeded); no crash, no turn in the wrong conversation."""
    import random

    from .helpers import press, settle
    from .test_random_keys import check_store

    rng = random.Random(1313)
    app = real_app
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.main_screen.model_label == "smollm2 · ready"
                         and app.controller.state.store_status == "connected", timeout=120)
        screen = app.main_screen
        for i in range(8):
            await wait_idle(pilot, timeout=120)
            prompt = screen.query_one(PromptInput)
            prompt.load_text(f"msg {i}: name three rivers.")
            await press(pilot, "enter")
            await settle(pilot, rng.uniform(0.05, 1.0))
            key = rng.choice(("ctrl+n", "escape", "f5", "f2", "none"))
            if key == "ctrl+n":
                await press(pilot, "ctrl+n")
                await settle(pilot, 0.05)
                await press(pilot, "enter")
            elif key == "f2":
                await press(pilot, "f2")
                await settle(pilot, 0.05)
                await press(pilot, "escape")
            elif key != "none":
                await press(pilot, key)
            await settle(pilot, 0.1)
            if app.screen is not screen:
                await press(pilot, "escape")
            assert app.is_running
            assert {v.turn.conversation_id for v in screen.query(TurnView)} <= {screen.current_id}
        await press(pilot, "escape")
        await wait_idle(pilot, timeout=120)
    check_store(store)
