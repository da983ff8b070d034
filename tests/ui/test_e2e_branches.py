"""End to end with the real SmolLM2: regenerate a reply, browse back to the first version."""

from __future__ import annotations

import pytest

from forge_tui.domain.models import Role, TurnStatus

from .conftest import SIZE
from .helpers import wait_idle, wait_until
from .test_branches import header, press, views
from .test_e2e_smollm2 import real_app  # noqa: F401  (the fixture)

pytestmark = pytest.mark.slow


async def test_regenerate_with_the_real_model_keeps_both_replies(real_app, store):  # noqa: F811
    app = real_app
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.main_screen.model_label == "smollm2 · ready"
                         and app.controller.state.store_status == "connected", timeout=120)
        await press(pilot, *"Name one colour of the sky.", "enter")
        await wait_until(pilot, lambda: views(app) and views(app)[-1].turn.role is Role.ASSISTANT, timeout=30)
        await wait_idle(pilot, timeout=120)
        await wait_until(pilot, lambda: views(app)[-1].turn.status is not TurnStatus.STREAMING)
        first = views(app)[-1].turn
        assert first.role is Role.ASSISTANT and first.status is TurnStatus.COMPLETE and first.content.strip()

        await press(pilot, "ctrl+g")
        await wait_until(pilot, lambda: views(app)[-1].turn.id != first.id, timeout=30)
        await wait_idle(pilot, timeout=120)
        await wait_until(pilot, lambda: views(app)[-1].turn.status is not TurnStatus.STREAMING)
        second = views(app)[-1].turn
        assert second.status is TurnStatus.COMPLETE and second.content.strip()
        assert second.parent_id == first.parent_id == views(app)[0].turn.id
        await wait_until(pilot, lambda: "‹ 2/2 ›" in header(views(app)[-1]))
        assert [v.turn.role for v in views(app)] == [Role.USER, Role.ASSISTANT]

        await press(pilot, "alt+left")
        await wait_until(pilot, lambda: views(app)[-1].turn.id == first.id)
        assert views(app)[-1].turn.content == store.get_turn(first.id).content
    stored = store.turn_tree(first.conversation_id)
    assert stored.siblings(second.id) == [first.id, second.id]
    assert store.get_conversation(first.conversation_id).head == first.id
    assert [(e["src"], e["dst"]) for e in store.branch_edges(first.conversation_id)] == [(first.id, second.id)]
