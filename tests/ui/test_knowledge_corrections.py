"""Hand corrections of the knowledge graph in the TUI: pin from the palette, d/e/r on the knowledge
pane, the palette pickers. Pilot flows through the session's real knowledge service (Registry on the
SecantusDB store), and snapshots of the pane with a highlighted item and of the dismiss prompt."""

from __future__ import annotations

from forge_tui.knowledge.registry import Registry
from forge_tui.session import events as ev
from forge_tui.ui.screens.knowledge_edit import KnowledgePicker, KnowledgeText
from forge_tui.ui.widgets.knowledge import KnowledgePanel

from .conftest import SIZE
from .helpers import run_palette, wait_connected, wait_until
from .seed import seed_library
from .test_features import KNOWLEDGE

BIG = (160, 48)


def _ids(panel: KnowledgePanel, kind: str) -> list[str]:
    return [i["id"] for i in (panel.state.decisions if kind == "decision" else panel.state.threads)]


async def _highlight(pilot, panel: KnowledgePanel, key: str) -> None:
    listing = panel.query_one("#knowledge-list")
    listing.focus()
    listing.highlighted = next(i for i, o in enumerate(listing.options) if o.id == key)
    await pilot.pause(0.1)


async def test_pin_a_decision_from_therun_palette(make_app, store):
    app = make_app(features=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_connected(pilot)
        await run_palette(pilot, "Pin a decision")
        await wait_until(pilot, lambda: isinstance(app.screen, KnowledgeText))
        await pilot.press("enter")  # empty: refused inside the prompt
        assert isinstance(app.screen, KnowledgeText)
        assert "empty" in str(app.screen.query_one("#knowledge-error").render())
        await pilot.press(*"Free shipping starts at 50 euros.", "enter")
        panel = app.main_screen.query_one(KnowledgePanel)
        await wait_until(pilot, lambda: any("Free shipping" in d["text"] for d in panel.state.decisions))
    reg = Registry(store)
    [pinned] = [d for d in reg.decisions("default") if "Free shipping" in d.text]
    assert pinned.pinned and pinned.status == "active"
    events = [e for e in reg.events.recent("default") if e.get("target") == pinned.id]
    assert events and {e["who"] for e in events} == {"user"}
    assert [c["action"] for c in reg.corrections("default")] == ["pin"]


async def test_dismiss_with_d_asks_for_a_reason(make_app, store):
    reg = Registry(store)
    keep = reg.record_decision("default", "Use Redis for caching.").decision
    wrong = reg.record_decision("default", "Maybe we should look at the logs later.").decision
    app = make_app(features=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_connected(pilot)
        app.controller.refresh_knowledge()
        panel = app.main_screen.query_one(KnowledgePanel)
        await wait_until(pilot, lambda: wrong.id in _ids(panel, "decision"))
        await _highlight(pilot, panel, f"decision:default/{wrong.id}")
        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(app.screen, KnowledgeText))
        await pilot.press("escape")  # Esc keeps it
        await pilot.pause(0.2)
        assert reg.get_decision("default", wrong.id).status == "active"
        await _highlight(pilot, panel, f"decision:default/{wrong.id}")
        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(app.screen, KnowledgeText))
        await pilot.press(*"not a decision", "enter")
        await wait_until(pilot, lambda: wrong.id not in _ids(panel, "decision"))
        assert keep.id in _ids(panel, "decision")
    assert reg.get_decision("default", wrong.id).status == "dismissed"
    [event] = [e for e in reg.events.recent("default", what="decision_dismissed")]
    assert event["who"] == "user" and event["why"] == "not a decision"


async def test_edit_with_e_and_resolve_with_r(make_app, store):
    reg = Registry(store)
    decision = reg.record_decision("default", "Free shipping from 50.").decision
    thread = reg.open_thread("default", "Ship to Switzerland?")
    app = make_app(features=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_connected(pilot)
        app.controller.refresh_knowledge()
        panel = app.main_screen.query_one(KnowledgePanel)
        await wait_until(pilot, lambda: thread.id in _ids(panel, "thread"))
        await _highlight(pilot, panel, f"decision:default/{decision.id}")
        await pilot.press("r")  # not a thread: a warning, nothing changes
        await pilot.press("e")
        await wait_until(pilot, lambda: isinstance(app.screen, KnowledgeText))
        assert app.screen.query_one("#knowledge-input").value == "Free shipping from 50."
        await pilot.press("end", *" euros", "enter")
        await wait_until(pilot, lambda: [d["text"] for d in panel.state.decisions] == ["Free shipping from 50. euros"])

        await _highlight(pilot, panel, f"thread:default/{thread.id}")
        await pilot.press("r")
        await wait_until(pilot, lambda: [t["status"] for t in panel.state.threads] == ["RESOLVED"])
    assert reg.get_decision("default", decision.id).text == "Free shipping from 50. euros"
    assert reg.get_thread("default", thread.id).status == "RESOLVED"


async def test_palette_pickers_dismiss_and_resolve(make_app, store):
    reg = Registry(store)
    decision = reg.record_decision("default", "Use Redis for caching.").decision
    thread = reg.open_thread("default", "Ship to Switzerland?")
    app = make_app(features=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_connected(pilot)
        app.controller.refresh_knowledge()
        panel = app.main_screen.query_one(KnowledgePanel)
        await wait_until(pilot, lambda: thread.id in _ids(panel, "thread"))

        await run_palette(pilot, "Resolve thread")
        await wait_until(pilot, lambda: isinstance(app.screen, KnowledgePicker))
        assert list(app.screen.items) == [f"thread:{thread.id}"]  # open threads only
        await pilot.press("enter")
        await wait_until(pilot, lambda: [t["status"] for t in panel.state.threads] == ["RESOLVED"])

        await run_palette(pilot, "Dismiss decision or thread")
        await wait_until(pilot, lambda: isinstance(app.screen, KnowledgePicker))
        assert list(app.screen.items) == [f"decision:{decision.id}"]  # the resolved thread is not active
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, KnowledgeText))
        await pilot.press("enter")  # the reason is optional
        await wait_until(pilot, lambda: not panel.state.decisions)
    assert reg.get_decision("default", decision.id).status == "dismissed"


async def test_an_unknown_id_is_a_notice_and_changes_nothing(make_app, store):
    reg = Registry(store)
    decision = reg.record_decision("default", "Use Redis for caching.").decision
    app = make_app(features=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_connected(pilot)
        notes: list[str] = []
        app.main_screen.notify = lambda message, **kw: notes.append(message)  # type: ignore[method-assign]
        app.controller.dismiss_knowledge("D099")
        app.controller.edit_knowledge(decision.id, "   ")
        await wait_until(pilot, lambda: len(notes) == 2)
    assert "No decision 'D099'" in notes[0]
    assert "empty" in notes[1]
    assert reg.get_decision("default", decision.id).text == "Use Redis for caching."
    assert list(reg.corrections("default")) == []


# -- snapshots -------------------------------------------------------------------
async def _knowledge_highlighted(pilot) -> None:
    await wait_connected(pilot)
    pilot.app.bridge.emit(ev.KnowledgeChanged("default", KNOWLEDGE))
    await pilot.pause(0.2)
    panel = pilot.app.main_screen.query_one(KnowledgePanel)
    await _highlight(pilot, panel, "decision:default/D002")
    await pilot.pause(0.1)


def test_knowledge_pane_with_a_highlighted_decision(snap_compare, make_app, store):
    seed_library(store)
    assert snap_compare(make_app(), terminal_size=BIG, run_before=_knowledge_highlighted)


def test_dismiss_prompt(snap_compare, make_app, store):
    seed_library(store)

    async def run_before(pilot):
        await _knowledge_highlighted(pilot)
        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, KnowledgeText))
        await pilot.press(*"not a decision")
        await pilot.pause(0.1)

    assert snap_compare(make_app(), terminal_size=BIG, run_before=run_before)
