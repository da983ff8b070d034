"""A server that refuses or dies is a banner naming the fix; the turns are kept and the app goes on."""

from __future__ import annotations

from forge_tui.domain.models import TurnStatus
from forge_tui.engine.base import GenerationResult

from .conftest import SIZE
from .fakes import FakeEngine
from .helpers import wait_connected, wait_until

DOWN = ("Cannot reach http://127.0.0.1:11434/v1 (ConnectError: [Errno 111] Connection refused). "
        "Start the server, or fix base_url in [models.smollm2].")


class DownServer(FakeEngine):
    """A remote engine whose server went away: the first reply fails, later ones work."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.kind = "openai"
        self.failures = 1

    def generate(self, request, on_piece, cancel):
        if self.failures:
            self.failures -= 1
            return GenerationResult("", 0, 0, "error", error=DOWN, backend_failed=True)
        return super().generate(request, on_piece, cancel)


def _app(make_app):
    return make_app(reply="Back again.", engine_factory=lambda name: DownServer(model_name=name))


async def _send(pilot, text: str) -> None:
    pilot.app.main_screen.query_one("#prompt").focus()
    for ch in text:
        await pilot.press("space" if ch == " " else ch)
    await pilot.press("enter")


async def test_a_refused_reply_is_a_banner_and_the_next_one_clears_it(make_app, store):
    app = _app(make_app)
    async with app.run_test(size=SIZE) as pilot:
        await wait_connected(pilot)
        await _send(pilot, "hello there")
        banner = app.main_screen.banner
        await wait_until(pilot, lambda: "reply" in banner.lines)
        assert "Start the server" in banner.lines["reply"]
        [conv] = store.list_conversations()
        user, reply = store.turns(conv.id)
        assert user.content == "hello there" and reply.status is TurnStatus.ERROR and reply.error == DOWN
        await _send(pilot, "again")
        await wait_until(pilot, lambda: len(store.turns(conv.id)) == 4 and not app.main_screen.busy)
        assert "reply" not in banner.lines
        last = store.turns(conv.id)[-1]
        assert last.status is TurnStatus.COMPLETE and last.engine == "openai"


def test_refused_reply_banner(snap_compare, make_app, store):
    async def run_before(pilot):
        await wait_connected(pilot)
        await _send(pilot, "hello there")
        await wait_until(pilot, lambda: "reply" in pilot.app.main_screen.banner.lines)
        await pilot.pause(0.2)

    assert snap_compare(_app(make_app), terminal_size=SIZE, run_before=run_before)


async def test_a_local_only_project_never_sends_text_to_a_cloud_model(make_app, store):
    from forge_tui.config import parse_models

    engines: list[FakeEngine] = []

    def factory(name):
        engines.append(FakeEngine(model_name=name))
        return engines[-1]

    app = make_app(engine_factory=factory)
    app.controller.models = parse_models('[models.smollm2]\nkind = "anthropic"\nmodel = "claude-x"\n')
    app.controller.settings.sandboxed_projects = ["default"]
    async with app.run_test(size=SIZE) as pilot:
        await wait_connected(pilot)
        await _send(pilot, "secret plans")
        banner = app.main_screen.banner
        await wait_until(pilot, lambda: "reply" in banner.lines)
        assert "keeps its text off cloud engines" in banner.lines["reply"] and "cloud = true" in banner.lines["reply"]
        assert all(not e.requests for e in engines)  # nothing reached the model
        [conv] = store.list_conversations()
        assert [t.content for t in store.turns(conv.id)] == ["secret plans", ""]
