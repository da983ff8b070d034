"""The embedded database dies mid-reply (SIGKILL of the real secantusd server Forge started):
Forge notices, restarts it on the same port, and the reply and a message typed meanwhile
land in the store. A scripted engine stands in for the model; the server is the real one."""

from __future__ import annotations

import os
import signal
import time

import pytest

from forge_tui.config import REPO_ROOT, Settings, load_models, resolve_paths
from forge_tui.domain.models import Role, TurnStatus
from forge_tui.services import Services
from forge_tui.session import events as ev
from forge_tui.session.controller import SessionController
from forge_tui.store.server import EmbeddedServer
from ui.fakes import FakeEngine

from test_controller_fast import Recorder

REPLY = "word " * 400  # 500 pieces at 10 ms: about 5 s of streaming


@pytest.fixture
def embedded(tmp_path):
    services = Services(paths=resolve_paths(str(tmp_path / "data")), mongo_uri=None, db_name="forge")
    rec = Recorder()
    controller = SessionController(
        store_link=services.store_link(), models=load_models(REPO_ROOT / "models.toml"),
        engine_factory=lambda name: FakeEngine(model_name=name, reply=REPLY, delay_s=0.01),
        settings=Settings(), emit=rec,
    )
    controller.start().result(90)
    rec.wait_for(lambda e: isinstance(e, ev.StateChanged) and e.state.store_status == "connected"
                 and e.state.model_status == "ready", timeout=90)
    server = EmbeddedServer(services.paths.mongo_dir, services.paths.server_state, services.paths.log_dir)
    yield controller, rec, services, server
    controller.shutdown()
    services.close()
    server.stop()


def test_sigkill_of_the_server_mid_reply_recovers_and_loses_nothing(embedded):
    controller, rec, services, server = embedded
    port = server.read_state()["port"]
    controller.send("tell me a long story")
    rec.wait_for(lambda e: isinstance(e, ev.ReplyChunk))
    os.kill(server.server_pid(), signal.SIGKILL)
    killed = time.monotonic()
    rec.wait_for(lambda e: isinstance(e, ev.StateChanged) and e.state.store_status == "lost", timeout=10)
    noticed_s = time.monotonic() - killed
    controller.send("typed while the database was down")  # kept, sent after the reply
    back = rec.wait_for(lambda e: isinstance(e, ev.Notice) and e.message.startswith("Database back"), timeout=30)
    assert "restarted" in back.message
    assert server.read_state()["port"] == port  # same port: the connected client found it again
    first = rec.wait_for(lambda e: isinstance(e, ev.ReplyFinished), timeout=30)
    second = rec.wait_for(lambda e: isinstance(e, ev.ReplyFinished), timeout=30)
    assert first.finish == second.finish == "stop"
    turns = services.store().turns(first.conversation_id)
    assert [(t.role, t.status) for t in turns] == [(Role.USER, TurnStatus.COMPLETE), (Role.ASSISTANT, TurnStatus.COMPLETE)] * 2
    assert turns[1].content == REPLY and turns[3].content == REPLY
    assert turns[2].content == "typed while the database was down"
    assert noticed_s < 5.0  # generous bound; bench/session_store.py measures it


def test_quitting_with_the_server_dead_is_quick(embedded):
    controller, rec, services, server = embedded
    controller.send("hello")
    rec.wait_for(lambda e: isinstance(e, ev.ReplyChunk))
    os.kill(server.server_pid(), signal.SIGKILL)
    time.sleep(0.2)
    started = time.perf_counter()
    controller.shutdown()
    services.close()
    assert time.perf_counter() - started < 3.0  # generous bound; bench/session_store.py measures it
