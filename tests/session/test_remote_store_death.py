"""A remote ``--mongo-uri`` database dies mid-reply: a SecantusDB server this test started as its own
process (Forge only has its URI) is SIGKILLed while a reply streams. Forge cannot restart it, so its
writes wait in memory, counted in the session state the banner shows; when the server is started
again on the same port and data directory, every write lands, in order, once. A scripted engine
stands in for the model; the database is the real server, killed for real."""

from __future__ import annotations

import time

import pytest
from pymongo import MongoClient

from forge_tui.config import REPO_ROOT, Settings, load_models, resolve_paths
from forge_tui.domain.models import Role, TurnStatus
from forge_tui.services import Services
from forge_tui.session import events as ev
from forge_tui.session.controller import SessionController
from remote_db import RemoteServer
from ui.fakes import FakeEngine

from test_controller_fast import Recorder

REPLY = "word " * 500  # 500 pieces at 10 ms: about 5 s of streaming
DOWN_S = 2.0  # how long the server stays dead while the reply goes on


@pytest.fixture
def remote(tmp_path):
    server = RemoteServer(tmp_path / "remote-db")
    server.start()
    services = Services(paths=resolve_paths(str(tmp_path / "data")), mongo_uri=server.uri, db_name="forge")
    rec = Recorder()
    controller = SessionController(
        store_link=services.store_link(), models=load_models(REPO_ROOT / "models.toml"),
        engine_factory=lambda name: FakeEngine(model_name=name, reply=REPLY, delay_s=0.01),
        settings=Settings(), emit=rec,
    )
    controller.start().result(60)
    rec.wait_for(lambda e: isinstance(e, ev.StateChanged) and e.state.store_status == "connected"
                 and e.state.model_status == "ready", timeout=60)
    yield controller, rec, services, server
    controller.shutdown()
    services.close()
    server.stop()


def test_writes_wait_in_memory_while_a_remote_database_is_dead_and_land_once_when_it_returns(remote):
    controller, rec, services, server = remote
    assert not services.store_link().embedded
    controller.send("tell me a long story")
    rec.wait_for(lambda e: isinstance(e, ev.ReplyChunk))
    server.kill()
    lost = rec.wait_for(lambda e: isinstance(e, ev.StateChanged) and e.state.store_status == "lost", timeout=15)
    assert "--mongo-uri" in (lost.state.store_message or "")
    controller.send("typed while the database was down")  # kept, sent after the reply
    # the reply goes on streaming into memory: the count of waiting writes is in the published state
    rec.wait_for(lambda e: isinstance(e, ev.StateChanged) and e.state.store_status == "lost"
                           and e.state.pending_writes >= 1, timeout=15)
    time.sleep(DOWN_S)
    assert controller.state.store_status == "lost" and controller.state.pending_writes >= 1
    shown_before = [e for e in rec.events if isinstance(e, ev.ReplyChunk)]
    server.start()  # same port, same data directory: what an operator restarting it would do
    back = rec.wait_for(lambda e: isinstance(e, ev.Notice) and e.message.startswith("Database back"), timeout=60)
    assert "--mongo-uri" in back.message
    first = rec.wait_for(lambda e: isinstance(e, ev.ReplyFinished), timeout=60)
    second = rec.wait_for(lambda e: isinstance(e, ev.ReplyFinished), timeout=60)
    assert first.finish == second.finish == "stop" and first.conversation_id == second.conversation_id
    assert services.store_link().alive() and controller.state.store_status == "connected"
    assert shown_before, "some of the reply was shown before the database died"
    controller.shutdown()  # lets the last writes land (it drains the writer)

    # read back through a client of our own: every turn once, complete, in order
    with MongoClient(server.uri, serverSelectionTimeoutMS=10_000) as client:
        docs = list(client["forge"]["messages"].find({"conversation_id": first.conversation_id}).sort("seq", 1))
        conversations = client["forge"]["conversations"].count_documents({"_id": first.conversation_id})
    assert conversations == 1
    assert [(d["seq"], d["role"], d["status"]) for d in docs] == [
        (0, Role.USER.value, TurnStatus.COMPLETE.value), (1, Role.ASSISTANT.value, TurnStatus.COMPLETE.value),
        (2, Role.USER.value, TurnStatus.COMPLETE.value), (3, Role.ASSISTANT.value, TurnStatus.COMPLETE.value),
    ]
    assert [d["content"] for d in docs] == ["tell me a long story", REPLY, "typed while the database was down", REPLY]
