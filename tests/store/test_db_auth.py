"""The embedded server requires a login: provisioned on first start, migrated for old data
dirs, refused without it; and everything in the data dir is private whatever the umask."""

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pymongo import MongoClient
from pymongo.errors import OperationFailure

from forge_tui.store import credentials
from forge_tui.store.errors import StoreUnavailable
from forge_tui.store.repository import Store
from forge_tui.store.server import EmbeddedServer, _free_port, _port_open, uri_for


@pytest.fixture
def data(tmp_path):
    base = tmp_path / "data"
    yield base
    EmbeddedServer(base / "mongo", base / "server.json", base / "logs").stop()


def launcher(base: Path) -> EmbeddedServer:
    return EmbeddedServer(base / "mongo", base / "server.json", base / "logs")


def client(uri: str) -> MongoClient:
    return MongoClient(uri, serverSelectionTimeoutMS=5000)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_first_start_provisions_a_login_and_refuses_anyone_without_it(data):
    old = os.umask(0o022)
    try:
        uri = launcher(data).ensure_running()
    finally:
        os.umask(old)
    assert_private(data)
    creds = credentials.load(data / credentials.FILE_NAME)
    assert creds is not None and creds.password in uri
    c = client(uri)
    c.forge.probe.insert_one({"ok": True})
    c.close()

    port = json.loads((data / "server.json").read_text())["port"]
    anonymous = client(uri_for(port))
    with pytest.raises(OperationFailure) as refused:
        anonymous.forge.probe.find_one()
    assert refused.value.code == 13  # Unauthorized
    with pytest.raises(OperationFailure):
        anonymous.forge.probe.insert_one({"sneaked": True})
    anonymous.close()
    wrong_uri = credentials.DbCredentials(creds.user, "not-the-password").uri(port)
    wrong = client(wrong_uri)
    with pytest.raises(OperationFailure):
        wrong.forge.probe.find_one()
    wrong.close()
    with pytest.raises(StoreUnavailable, match="refused the login.*check the user and password in --mongo-uri"):
        Store.connect(wrong_uri, what="--mongo-uri").check("--mongo-uri")
    assert launcher(data).ensure_running() == uri  # a second Forge reuses server and login


def test_an_unauthenticated_data_dir_is_migrated(data):
    """A server started by a Forge from before authentication (no ``auth`` in server.json,
    no credentials file) is restarted with a login; its data stays."""
    (data / "logs").mkdir(parents=True)
    port = _free_port()
    binary = Path(sys.executable).parent / "secantusd-py"
    old = subprocess.Popen([str(binary), "--host", "127.0.0.1", "--port", str(port),
                            "--storage-path", str(data / "mongo")],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 20
        while not _port_open(port) and time.monotonic() < deadline:
            time.sleep(0.05)
        (data / "server.json").write_text(json.dumps(
            {"pid": old.pid, "port": port, "storage": str(data / "mongo"), "started_at": time.time()}))
        legacy = client(uri_for(port))
        legacy.forge.conversations.insert_one({"_id": "c1", "title": "from before auth"})
        legacy.close()

        uri = launcher(data).ensure_running()
        old.wait(15)  # the unauthenticated server was stopped
        assert credentials.load(data / credentials.FILE_NAME) is not None
        c = client(uri)
        assert c.forge.conversations.find_one({"_id": "c1"})["title"] == "from before auth"
        c.close()
        new_port = json.loads((data / "server.json").read_text())["port"]
        anonymous = client(uri_for(new_port))
        with pytest.raises(OperationFailure):
            anonymous.forge.conversations.find_one()
        anonymous.close()
        assert_private(data)  # files the old server wrote under a 022 umask are tightened
    finally:
        if old.poll() is None:
            old.kill()
            old.wait()


def test_a_lost_credentials_file_is_replaced(data):
    server = launcher(data)
    server.ensure_running()
    server.stop()
    (data / credentials.FILE_NAME).unlink()
    uri = launcher(data).ensure_running()
    c = client(uri)
    assert c.admin.command("listDatabases", nameOnly=True)["ok"] == 1.0
    c.close()


def assert_private(data: Path) -> None:
    """0700 folders and 0600 files everywhere in the data dir (a 022 umask notwithstanding)."""
    assert mode(data) == 0o700
    for name in ("server.json", credentials.FILE_NAME, "server.lock"):
        assert mode(data / name) == 0o600, name
    for folder, dirs, files in os.walk(data):
        for d in dirs:
            assert mode(Path(folder) / d) == 0o700, d
        for f in files:
            assert mode(Path(folder) / f) == 0o600, f


def test_redact_hides_the_password():
    creds = credentials.DbCredentials("forge", "s3cret")
    shown = credentials.redact(creds.uri(27017))
    assert "s3cret" not in shown and "***@127.0.0.1:27017" in shown
