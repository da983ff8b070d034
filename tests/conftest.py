"""Shared fixtures: one real SecantusDB server per test session, a fresh database per test.

Tests talk MongoDB wire protocol through pymongo; there is no in-memory fake.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def mongo_server(tmp_path_factory):
    from secantus import SecantusDBServer

    storage = tmp_path_factory.mktemp("secantus")
    server = SecantusDBServer(host="127.0.0.1", port=0, storage_path=str(storage / "data"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def mongo_uri(mongo_server) -> str:
    host, port = mongo_server.address
    return f"mongodb://{host}:{port}/?directConnection=true"


@pytest.fixture(scope="session")
def mongo_client(mongo_uri):
    from pymongo import MongoClient

    client = MongoClient(mongo_uri, tz_aware=True, serverSelectionTimeoutMS=10000)
    yield client
    client.close()


@pytest.fixture
def db(mongo_client):
    """A fresh database per test, dropped afterwards."""
    name = "t_" + uuid.uuid4().hex[:12]
    database = mongo_client[name]
    yield database
    mongo_client.drop_database(name)


@pytest.fixture
def store(db):
    from forge_tui.store.repository import Store

    s = Store(db)
    s.ensure_schema()
    return s


@pytest.fixture(scope="session")
def smollm2_path() -> Path:
    from forge_tui.engine.model_files import smollm2_path as resolve

    return resolve()


@pytest.fixture(scope="session", autouse=True)
def _stop_embedded_servers(tmp_path_factory):
    """Safety net: stop every embedded server a test started under the session's temp dir
    (CLI subprocess tests start one per data dir and it outlives them by design)."""
    yield
    from forge_tui.store.server import EmbeddedServer

    base = tmp_path_factory.getbasetemp()
    for state in base.rglob("server.json"):
        data = state.parent
        EmbeddedServer(data / "mongo", state, data / "logs").stop()
