"""The banner while a remote ``--mongo-uri`` database is dead: a real SecantusDB server this test
started (Forge only has its URI) is SIGKILLed mid-reply; the banner names --mongo-uri and counts
the writes held in memory; when the server is started again on the same port and data, the banner
goes and the reply is in the store, whole and once."""

from __future__ import annotations

from pymongo import MongoClient

from forge_tui.config import REPO_ROOT, Settings, load_models, resolve_paths
from forge_tui.services import Services
from forge_tui.session.controller import SessionController
from forge_tui.ui.app import ForgeApp
from remote_db import RemoteServer

from .conftest import SIZE
from .fakes import FakeEngine
from .helpers import wait_connected, wait_idle, wait_until

REPLY = "word " * 300  # 300 pieces at 10 ms: about 3 s of streaming


async def test_the_banner_counts_writes_held_while_a_remote_database_is_dead(tmp_path, models_file):
    server = RemoteServer(tmp_path / "remote-db")
    server.start()
    services = Services(paths=resolve_paths(str(tmp_path / "data")), mongo_uri=server.uri, db_name="forge")
    models, settings = load_models(models_file), Settings()

    def controller_factory(emit):
        return SessionController(
            store_link=services.store_link(), models=models, settings=settings, emit=emit,
            engine_factory=lambda name: FakeEngine(model_name=name, n_ctx=models.get(name).n_ctx, reply=REPLY,
                                                   delay_s=0.01),
        )

    app = ForgeApp(controller_factory=controller_factory, settings=settings, themes_dirs=[REPO_ROOT / "themes"],
                   models_file=models_file, watch_files=False)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await wait_connected(pilot)
            await pilot.press(*"tell me a story", "enter")
            await wait_until(pilot, lambda: app.controller.state.activity == "reply")
            server.kill()
            banner = app.main_screen.banner

            def counted() -> bool:
                """the store banner counts the writes held in memory"""
                return "write(s) held in memory" in banner.lines.get("store", "")

            await wait_until(pilot, counted, timeout=30)
            assert "--mongo-uri" in banner.lines["store"]
            server.start()  # same port, same data directory
            await wait_until(pilot, lambda: "store" not in banner.lines, timeout=60)
            await wait_idle(pilot, timeout=60)
            # the banner goes once the store answers; the writes held meanwhile land after it
            await wait_until(pilot, lambda: app.controller.state.pending_writes == 0, timeout=60)
            conv_id = app.controller.state.conversation_id
    finally:
        services.close()
    try:
        with MongoClient(server.uri, serverSelectionTimeoutMS=10_000) as client:
            docs = list(client["forge"]["messages"].find({"conversation_id": conv_id}).sort("seq", 1))
    finally:
        server.stop()
    assert [(d["role"], d["status"], d["content"]) for d in docs] == [
        ("user", "complete", "tell me a story"), ("assistant", "complete", REPLY)]
