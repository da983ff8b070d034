"""The embedded SecantusDB launcher: start, reuse, crash recovery, foreign locks."""

import json
import os
import signal
import time

import pytest
from pymongo import MongoClient

from forge_tui.store.errors import DataDirLocked
from forge_tui.store.server import EmbeddedServer, wiredtiger_locked


@pytest.fixture
def server(tmp_path):
    s = EmbeddedServer(tmp_path / "mongo", tmp_path / "server.json", tmp_path / "logs")
    yield s
    s.stop()


def ping(uri):
    client = MongoClient(uri, serverSelectionTimeoutMS=5000)
    try:
        return client.admin.command("ping")["ok"]
    finally:
        client.close()


def test_start_then_reuse(server, tmp_path):
    uri = server.ensure_running()
    assert ping(uri) == 1.0
    second = EmbeddedServer(tmp_path / "mongo", tmp_path / "server.json", tmp_path / "logs")
    assert second.ensure_running() == uri  # same server, not a second one
    assert wiredtiger_locked(tmp_path / "mongo")


def test_stale_server_after_crash_is_recovered(server, tmp_path):
    uri = server.ensure_running()
    client = MongoClient(uri)
    client.forge.probe.insert_one({"kept": True})
    client.close()
    pid = json.loads((tmp_path / "server.json").read_text())["pid"]
    os.kill(pid, signal.SIGKILL)
    time.sleep(0.3)
    new_uri = server.ensure_running()
    client = MongoClient(new_uri)
    assert client.forge.probe.find_one({"kept": True}) is not None
    client.close()


def test_data_dir_locked_by_a_foreign_server(tmp_path):
    """A server Forge did not start holds the directory: a clear error, no second server."""
    import socket
    import subprocess
    import sys
    from pathlib import Path

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    binary = Path(sys.executable).parent / "secantusd-py"
    foreign = subprocess.Popen([str(binary), "--host", "127.0.0.1", "--port", str(port),
                                "--storage-path", str(tmp_path / "mongo")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while not wiredtiger_locked(tmp_path / "mongo") and time.monotonic() < deadline:
            time.sleep(0.1)
        mine = EmbeddedServer(tmp_path / "mongo", tmp_path / "server.json", tmp_path / "logs")
        with pytest.raises(DataDirLocked, match="--data-dir"):
            mine.ensure_running()
    finally:
        foreign.terminate()
        foreign.wait(10)
