"""Start, find and recover the embedded SecantusDB server (MongoDB wire protocol).

SecantusDB runs as a separate process (``secantusd-py``) on loopback with its
WiredTiger files under the data dir. One server per data dir: WiredTiger takes
an exclusive lock on the directory, so a second Forge must reuse the running
server rather than start its own. ``server.json`` records the pid and port of
the server Forge started; a dead pid means a stale record (crash, reboot) and
the server is started again (WiredTiger recovers its journal on open).
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

from forge_tui.store.errors import DataDirLocked, StoreUnavailable

START_TIMEOUT_S = 30.0


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


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_open(port: int, timeout: float = 0.3) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


def uri_for(port: int) -> str:
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
    def __init__(self, storage: Path, state_file: Path, log_dir: Path):
        self.storage = Path(storage)
        self.state_file = Path(state_file)
        self.log_dir = Path(log_dir)

    # -- state file ----------------------------------------------------------
    def read_state(self) -> dict | None:
        try:
            return json.loads(self.state_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def _write_state(self, state: dict) -> None:
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state), encoding="utf-8")
        os.replace(tmp, self.state_file)

    @contextmanager
    def _startup_lock(self):
        """Serialise start-up between Forge processes sharing a data dir."""
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        with open(self.state_file.parent / "server.lock", "a+") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    # -- lifecycle -----------------------------------------------------------
    def running_uri(self) -> str | None:
        """URI of a live server Forge started on this data dir, else None."""
        state = self.read_state()
        if not state or state.get("storage") != str(self.storage):
            return None
        if not pid_alive(int(state.get("pid", 0))):
            return None
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if _port_open(int(state["port"])):
                return uri_for(int(state["port"]))
            time.sleep(0.1)
        return None

    def ensure_running(self) -> str:
        with self._startup_lock():
            uri = self.running_uri()
            if uri:
                return uri
            state = self.read_state()
            if state and pid_alive(int(state.get("pid", 0))):
                raise StoreUnavailable(
                    f"The Forge database server (pid {state['pid']}) is running but not answering on port "
                    f"{state['port']}. Stop it (`kill {state['pid']}`) and start Forge again."
                )
            if wiredtiger_locked(self.storage):
                raise DataDirLocked(
                    f"The data directory {self.storage} is locked by a database process Forge did not start. "
                    "Stop that process, or give Forge another directory with --data-dir / FORGE_DATA_DIR, "
                    "or point it at that server with --mongo-uri."
                )
            if state:  # stale record after a crash: recovered by starting again
                self.state_file.unlink(missing_ok=True)
            return self._start()

    def _start(self) -> str:
        self.storage.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        port = _free_port()
        log = open(self.log_dir / "secantus.log", "ab")
        cmd = _server_binary() + [
            "--host", "127.0.0.1", "--port", str(port),
            "--storage-path", str(self.storage), "--log-level", "WARNING",
            # fsync the journal per commit: a killed server must not lose an acknowledged turn
            "--sync-on-commit",
        ]
        proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, cwd=str(self.storage),
        )
        log.close()
        self._write_state({"pid": proc.pid, "port": port, "storage": str(self.storage), "started_at": time.time()})
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                self.state_file.unlink(missing_ok=True)
                raise StoreUnavailable(
                    f"The embedded database server exited at start-up (code {proc.returncode}). "
                    f"See {self.log_dir / 'secantus.log'}."
                )
            if _port_open(port):
                return uri_for(port)
            time.sleep(0.05)
        raise StoreUnavailable(f"The embedded database server did not start within {START_TIMEOUT_S:.0f} s.")

    def stop(self, timeout: float = 10.0) -> bool:
        state = self.read_state()
        if not state or not pid_alive(int(state.get("pid", 0))):
            self.state_file.unlink(missing_ok=True)
            return False
        pid = int(state["pid"])
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and pid_alive(pid):
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
            time.sleep(0.05)
        if pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
        self.state_file.unlink(missing_ok=True)
        return True
