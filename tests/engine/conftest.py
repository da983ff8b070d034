"""A real OpenAI-compatible server for the engine tests: llama-cpp-python's own
``python -m llama_cpp.server`` serving SmolLM2 on loopback, one per test session
(it takes ~6 s to start). ``restart()`` brings it back after a test kills it."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ALIAS = "smollm2"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LlamaServer:
    def __init__(self, model: Path, log: Path):
        self.model, self.log = model, log
        self.proc: subprocess.Popen | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> None:
        self.port = free_port()
        cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(self.model), "--model_alias", ALIAS,
               "--host", "127.0.0.1", "--port", str(self.port), "--n_threads", "1", "--n_ctx", "2048"]
        self.proc = subprocess.Popen(cmd, stdout=self.log.open("ab"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited; see {self.log}")
            try:
                urllib.request.urlopen(f"{self.base_url}/models", timeout=1).read()
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"llama_cpp.server did not answer within 90 s; see {self.log}")

    def ensure_running(self) -> "LlamaServer":
        if self.proc is None or self.proc.poll() is not None:
            self.start()
        return self

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(2)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@pytest.fixture(scope="session")
def _llama_server(smollm2_path, tmp_path_factory):
    server = LlamaServer(smollm2_path, tmp_path_factory.mktemp("llama-server") / "server.log")
    yield server
    server.stop()


@pytest.fixture
def llama_server(_llama_server) -> LlamaServer:
    """The shared server, (re)started if a test killed it."""
    return _llama_server.ensure_running()
