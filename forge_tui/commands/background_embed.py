"""Embedding after an import, in a process of its own.

Loading the embedding model takes longer than storing most imports (~5 s on an idle
laptop, 20 s+ on a busy one), so `forge import` stores and extracts, then hands the
vectors to a detached `forge embeddings catch-up` and returns. Keyword search works at
once; semantic search fills in as the catch-up writes vectors (`forge embeddings
status` shows how many are left). One catch-up runs per data dir at a time (a lock
file); a second one waits for the first and then finds little left to do.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from forge_tui.config import Paths
from forge_tui.store.private_files import open_private, private_dir

LOG_NAME = "embed.log"
LOCK_NAME = "embed.lock"


def log_path(paths: Paths) -> Path:
    return paths.log_dir / LOG_NAME


def spawn_catch_up(paths: Paths, mongo_uri: str | None) -> int:
    """Start `forge embeddings catch-up` detached from this terminal; returns its pid.

    The URI of a remote server travels in the environment (not on the command line,
    where `ps` would show its password); the embedded server's credentials are read
    from the data dir by the child itself."""
    env = dict(os.environ, FORGE_DATA_DIR=str(paths.data_dir))
    if mongo_uri:
        env["FORGE_MONGO_URI"] = mongo_uri
    private_dir(paths.log_dir)
    with open_private(log_path(paths), "a", encoding="utf-8") as log:
        log.write(f"{_now()} catch-up started by an import (pid {os.getpid()})\n")
        log.flush()
        child = subprocess.Popen(
            [sys.executable, "-m", "forge_tui", "embeddings", "catch-up"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env,
            start_new_session=True, close_fds=True,
        )
    return child.pid


@contextmanager
def catch_up_lock(paths: Paths, wait: bool = True) -> Iterator[bool]:
    """Hold the data dir's catch-up lock; yields False (without waiting) when ``wait``
    is off and another catch-up holds it."""
    private_dir(paths.data_dir)
    with open_private(paths.data_dir / LOCK_NAME, "a") as fh:
        flags = fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB)
        try:
            fcntl.flock(fh.fileno(), flags)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def catch_up_running(paths: Paths) -> bool:
    """Whether a background catch-up holds the lock right now."""
    if not (paths.data_dir / LOCK_NAME).exists():
        return False
    with catch_up_lock(paths, wait=False) as got:
        return not got


def _now() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S")
