"""A SecantusDB server the test starts as its own process, for Forge to reach as a remote
``--mongo-uri``: killed with SIGKILL and started again on the same port and data directory."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from forge_tui.store.server import _server_binary


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RemoteServer:
    """``secantusd-py`` as a separate process on a fixed port and data directory."""

    def __init__(self, storage: Path):
        self.storage = storage
        self.port = _free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def uri(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/?directConnection=true"

    def start(self) -> None:
        self.storage.mkdir(parents=True, exist_ok=True)
        cmd = _server_binary() + ["--host", "127.0.0.1", "--port", str(self.port), "--storage-path",
                                  str(self.storage), "--log-level", "WARNING", "--sync-on-commit"]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"secantusd-py exited with {self.proc.returncode}"
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("the test's database server did not start within 60 s")

    def kill(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
