"""Keys pressed at random moments of replies and compressions (seeded): Ctrl+N, Ctrl+O,
F2, F5, F6, Esc — no crash, and no turn lands in the wrong conversation.

Keys go through ``helpers.press``: a key that removes widgets can leave the pilot's wait for
every widget's queue unanswered (a Textual pilot race, not a stuck app); the checks after each
key and the store check at the end are what catch a real fault. ``FORGE_RANDOM_KEYS_SEED``
runs another seed.

The scripted engine streams a reply in about half a second, so most keys land mid-reply;
compressions run the real compression service (the scripted text is not YAML, so each
ends as a clean failure after its model call). A smaller loop with the real SmolLM2
is in test_e2e_smollm2.py.
"""

from __future__ import annotations

import asyncio
import os
import random

from forge_tui.ui.widgets.conversation import TurnView
from forge_tui.ui.widgets.prompt import PromptInput

from .conftest import SIZE
from .helpers import press, settle, wait_connected, wait_until

ITERATIONS = 50
KEYS = ("ctrl+n", "ctrl+o", "f2", "f5", "f6", "escape", "none")


def check_store(store) -> None:
    """Every conversation holds its own turns: seq 0..n, user/assistant alternating, one id."""
    by_conv: dict[str, list[dict]] = {}
    for doc in store.db.messages.find({}, sort=[("seq", 1)]):
        by_conv.setdefault(doc["conversation_id"], []).append(doc)
    for conv_id, docs in by_conv.items():
        assert store.db.conversations.find_one({"_id": conv_id}) is not None, "a turn without its conversation"
        assert [d["seq"] for d in docs] == list(range(len(docs))), f"gap or duplicate in {conv_id}"
        roles = [d["role"] for d in docs]
        assert roles == ["user", "assistant"] * (len(docs) // 2) + ["user"] * (len(docs) % 2), roles
        for user, reply in zip(docs[::2], docs[1::2]):
            assert user["content"].startswith("msg ") and reply["status"] in ("complete", "truncated", "cancelled", "error")


async def test_random_keys_at_random_moments_never_crash_or_misfile_a_turn(make_app, store):
    rng = random.Random(int(os.environ.get("FORGE_RANDOM_KEYS_SEED", "1302")))
    app = make_app(reply="word " * 60, delay_s=0.01, features=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_connected(pilot)
        screen = app.main_screen
        for i in range(ITERATIONS):
            prompt = screen.query_one(PromptInput)
            prompt.load_text(prompt.text + f"msg {i}")
            await press(pilot, "enter")
            await settle(pilot, rng.uniform(0.0, 0.3))
            key = rng.choice(KEYS)
            if key == "ctrl+n":
                await press(pilot, "ctrl+n")
                await settle(pilot, 0.05)
                await press(pilot, "enter")  # the project prompt: keep the current project
            elif key == "ctrl+o":
                await press(pilot, "ctrl+o")
                await press(pilot, rng.choice(("down", "up")), "enter")
            elif key == "f2":
                await press(pilot, "f2")
                await settle(pilot, 0.05)
                await press(pilot, rng.choice(("escape", "enter")))
            elif key != "none":
                await press(pilot, key)
            await settle(pilot, rng.uniform(0.0, 0.1))
            assert app.is_running
            if app.screen is not screen:  # a modal left open (the lineage view after F6, a prompt)
                await press(pilot, "escape")
            await press(pilot, "ctrl+l")
            # the pane only shows turns of the conversation it shows
            shown = {v.turn.conversation_id for v in screen.query(TurnView)}
            assert shown <= {screen.current_id}, (i, key, shown, screen.current_id)
        await press(pilot, "escape")
        await wait_until(pilot, lambda: not app.controller.busy, timeout=30)
        queued = app.controller.run_on_worker(lambda: None)
        assert queued is not None
        await asyncio.wrap_future(queued)
    check_store(store)
    assert store.db.conversations.count_documents({}) >= 3
