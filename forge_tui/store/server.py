"""Start, find and recover the embedded SecantusDB server (MongoDB wire protocol).

SecantusDB runs as a separate process (``secantusd-py``) on loopback with its
WiredTiger files under the data dir. One server per data dir: WiredTiger takes
an exclusive lock on the directory, so a second Forge must reuse the running
server rather than start its own. ``server.json`` records the pid and port of
the server Forge started; a dead pid means a stale record (crash, reboot) and
the server is started again (WiredTiger recovers its journal on open).

The server requires SCRAM authentication (``--auth``). Its user and password
live in ``db-credentials.json`` beside ``server.json`` (0600, see
``forge_tui.store.credentials``). SecantusDB provisions users only while
running without ``--auth``, so the first start (and the migration of a data
dir from before authentication) starts it once without, creates the user,
and restarts it with ``--auth``. Everything the server writes is private
(0700 folders, 0600 files).
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from pymongo import MongoClient
from pymongo.errors import OperationFailure, PyMongoError

from forge_tui.store import credentials as db_credentials
from forge_tui.store.credentials import DbCredentials
from forge_tui.store.errors import DataDirLocked, StoreUnavailable
from forge_tui.store.private_files import open_private, private_dir, tighten_tree, write_private

START_TIMEOUT_S = 30.0
#: MongoDB's error codes for a login the server does not accept.
_AUTH_FAILED = (18, 11)
_USER_EXISTS = 51003


def pid_alive(pid: int) -> bool:
    """True if ``pid`` is a live process on this host (a zombie counts as dead)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie child still answers kill(0); treat it as dead
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def _free_port(preferred: int | None = None) -> int:
    """``preferred`` when it can be bound (a restarted server keeps its port, so connected
    clients find it again), else any free port."""
    for port in ((preferred, 0) if preferred else (0,)):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(s.getsockname()[1])
    raise StoreUnavailable("No free TCP port on 127.0.0.1 for the embedded database server.")


def _port_open(port: int, timeout: float = 0.3) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


def uri_for(port: int, creds: DbCredentials | None = None) -> str:
    """The URI for a server on this host's loopback, with the login when given."""
    if creds is not None:
        return creds.uri(port)
    return f"mongodb://127.0.0.1:{port}/?directConnection=true"


def wiredtiger_locked(storage: Path) -> bool:
    """True if some process holds WiredTiger's lock on ``storage``."""
    lock = storage / "WiredTiger.lock"
    if not lock.exists():
        return False
    try:
        fd = os.open(lock, os.O_RDWR)
    except OSError:
        return False
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, 0)
    except OSError as exc:
        if exc.errno in (errno.EACCES, errno.EAGAIN):
            return True
        raise
    else:
        fcntl.lockf(fd, fcntl.LOCK_UN, 1, 0)
        return False
    finally:
        os.close(fd)


def _server_binary() -> list[str]:
    beside = Path(sys.executable).parent / "secantusd-py"
    if beside.exists():
        return [str(beside)]
    found = shutil.which("secantusd-py")
    if found:
        return [found]
    raise StoreUnavailable(
        "The embedded MongoDB server (secantusd-py from the 'secantusdb' package) is not installed. "
        "Run the README's run command, or pass --mongo-uri mongodb://HOST:PORT to use your own MongoDB."
    )


class EmbeddedServer:
    def __init__(self, storage: Path, state_file: Path, log_dir: Path, credentials_file: Path | None = None):
        self.storage = Path(storage)
        self.state_file = Path(state_file)
        self.log_dir = Path(log_dir)
        self.credentials_file = Path(credentials_file or self.state_file.with_name(db_credentials.FILE_NAME))
        #: the port of a server that died: a restart takes it again when it is free
        self._previous_port: int | None = None

    # -- state file ----------------------------------------------------------
    def read_state(self) -> dict | None:
        try:
            return json.loads(self.state_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def _write_state(self, state: dict) -> None:
        write_private(self.state_file, json.dumps(state))

    @contextmanager
    def _startup_lock(self):
        """Serialise start-up between Forge processes sharing a data dir."""
        private_dir(self.state_file.parent)
        with open_private(self.state_file.parent / "server.lock", "a+") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    # -- lifecycle -----------------------------------------------------------
    def running_port(self) -> int | None:
        """Port of a live server Forge started on this data dir, else None."""
        state = self.read_state()
        if not state or state.get("storage") != str(self.storage):
            return None
        if not pid_alive(int(state.get("pid", 0))):
            return None
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if _port_open(int(state["port"])):
                return int(state["port"])
            time.sleep(0.1)
        return None

    def server_pid(self) -> int | None:
        """The pid of the server Forge started on this data dir, if it is alive (no network)."""
        state = self.read_state()
        if not state or state.get("storage") != str(self.storage):
            return None
        pid = int(state.get("pid", 0))
        return pid if pid and pid_alive(pid) else None

    def running_uri(self) -> str | None:
        """URI (with the login) of a live server Forge started on this data dir, else None."""
        port = self.running_port()
        if port is None:
            return None
        state = self.read_state() or {}
        return uri_for(port, db_credentials.load(self.credentials_file) if state.get("auth") else None)

    def ensure_running(self) -> str:
        """The URI of this data dir's server (with its login), started or migrated if needed."""
        with self._startup_lock():
            port = self.running_port()
            if port is not None:
                state = self.read_state() or {}
                creds = db_credentials.load(self.credentials_file)
                if state.get("auth") and creds is not None and _login_works(creds.uri(port)):
                    return creds.uri(port)
                # started by a Forge from before authentication (or its login is lost): restart with auth
                self.stop()
            stale = self.read_state()
            if stale and pid_alive(int(stale.get("pid", 0))):
                raise StoreUnavailable(
                    f"The Forge database server (pid {stale['pid']}) is running but not answering on port "
                    f"{stale['port']}. Stop it (`kill {stale['pid']}`) and start Forge again."
                )
            if wiredtiger_locked(self.storage):
                raise DataDirLocked(
                    f"The data directory {self.storage} is locked by a database process Forge did not start. "
                    "Stop that process, or give Forge another directory with --data-dir / FORGE_DATA_DIR, "
                    "or point it at that server with --mongo-uri."
                )
            if stale:  # stale record after a crash: recovered by starting again
                self._previous_port = int(stale.get("port") or 0) or None
                self.state_file.unlink(missing_ok=True)
            return self._start_authenticated()

    def _start_authenticated(self) -> str:
        """Start with ``--auth``; on a data dir whose user is missing or has another
        password (first start, a data dir from before authentication, a lost
        credentials file), provision the login first."""
        creds = db_credentials.load(self.credentials_file)
        if creds is not None:
            uri = creds.uri(self._start(auth=True))
            if _login_works(uri):
                return uri
            self.stop()
        creds = creds or DbCredentials.generate()
        db_credentials.save(self.credentials_file, creds)
        port = self._start(auth=False)
        try:
            _provision(uri_for(port), creds)
        finally:
            self.stop()
        uri = creds.uri(self._start(auth=True))
        if not _login_works(uri):
            self.stop()
            raise StoreUnavailable(
                f"The embedded database server refused Forge's own login after setting it up. "
                f"See {self.log_dir / 'secantus.log'}."
            )
        return uri

    def _start(self, *, auth: bool) -> int:
        private_dir(self.storage)
        private_dir(self.log_dir)
        tighten_tree(self.storage)
        tighten_tree(self.log_dir)
        port = _free_port(self._previous_port)
        log = open_private(self.log_dir / "secantus.log", "ab")
        cmd = _server_binary() + [
            "--host", "127.0.0.1", "--port", str(port),
            "--storage-path", str(self.storage), "--log-level", "WARNING",
            # fsync the journal per commit: a killed server must not lose an acknowledged turn
            "--sync-on-commit",
        ] + (["--auth"] if auth else [])
        proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, cwd=str(self.storage),
            umask=0o077,  # database files and journal: owner only, whatever Forge's umask
        )
        log.close()
        self._write_state({"pid": proc.pid, "port": port, "storage": str(self.storage), "started_at": time.time(),
                           "auth": auth})
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                self.state_file.unlink(missing_ok=True)
                raise StoreUnavailable(
                    f"The embedded database server exited at start-up (code {proc.returncode}). "
                    f"See {self.log_dir / 'secantus.log'}."
                )
            if _port_open(port):
                return port
            time.sleep(0.05)
        raise StoreUnavailable(f"The embedded database server did not start within {START_TIMEOUT_S:.0f} s.")

    def stop(self, timeout: float = 10.0) -> bool:
        state = self.read_state()
        if not state or not pid_alive(int(state.get("pid", 0))):
            self.state_file.unlink(missing_ok=True)
            return False
        pid = int(state["pid"])
        os.kill(pid, signal.SIGTERM)
        if not _wait_gone(pid, timeout):
            os.kill(pid, signal.SIGKILL)
            _wait_gone(pid, 5.0)  # gone means its lock on the data dir is released too
        self.state_file.unlink(missing_ok=True)
        return True


def _wait_gone(pid: int, timeout: float) -> bool:
    """Wait for ``pid`` to exit (reaping it when it is our child); True if it did."""
    deadline = time.monotonic() + timeout
    while pid_alive(pid):
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


def _login_works(uri: str) -> bool:
    """True if the server at ``uri`` accepts the login in it (False: refused or no user)."""
    client: MongoClient = MongoClient(uri, serverSelectionTimeoutMS=5000)
    try:
        client.admin.command("listDatabases", nameOnly=True)
        return True
    except OperationFailure as exc:
        if exc.code in _AUTH_FAILED:
            return False
        raise StoreUnavailable(f"The embedded database server failed a login check: {exc}") from None
    except PyMongoError as exc:
        raise StoreUnavailable(f"The embedded database server is not answering: {exc}") from None
    finally:
        client.close()


def _provision(uri: str, creds: DbCredentials) -> None:
    """Create Forge's database user on a server running without ``--auth`` (or set its password)."""
    client: MongoClient = MongoClient(uri, serverSelectionTimeoutMS=5000)
    try:
        try:
            client.admin.command("createUser", creds.user, pwd=creds.password, roles=["root"])
        except OperationFailure as exc:
            if exc.code != _USER_EXISTS:
                raise
            client.admin.command("updateUser", creds.user, pwd=creds.password)
    except PyMongoError as exc:
        raise StoreUnavailable(f"Could not set up the embedded database's login: {exc}") from None
    finally:
        client.close()
