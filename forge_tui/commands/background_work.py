"""The part of an import that runs after the command returns, in a process of its own.

Storing a 10,000-conversation export takes ~20 s; classifying its 50,000 turns
(several registry reads and writes each) and loading the embedding model take far
longer. So `forge import` stores, classifies small imports itself, and hands the rest
to a detached `forge catch-up`: the conversation ids still to classify are queued in
a 0600 file under the data dir (kept until done, so a killed catch-up is finished by
the next one), then vectors for every message that lacks one. One catch-up runs per
data dir at a time (a lock file); a second waits for the first and then finds little
left to do.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from forge_tui.config import Paths
from forge_tui.store.private_files import open_private, private_dir, write_private

LOG_NAME = "catch-up.log"
LOCK_NAME = "catch-up.lock"
QUEUE_DIR = "catch-up"


def log_path(paths: Paths) -> Path:
    return paths.log_dir / LOG_NAME


def queue_extraction(paths: Paths, conversation_ids: list[str]) -> Path:
    """Note ``conversation_ids`` for the catch-up to classify; returns the note's path."""
    folder = private_dir(paths.data_dir / QUEUE_DIR)
    note = folder / f"extract-{time.time_ns()}-{os.getpid()}.json"
    write_private(note, json.dumps(conversation_ids))
    return note


def queued_extractions(paths: Paths) -> list[tuple[Path, list[str]]]:
    """The queued notes, oldest first; a note that cannot be read is skipped (and kept)."""
    folder = paths.data_dir / QUEUE_DIR
    notes = []
    for note in sorted(folder.glob("extract-*.json")) if folder.is_dir() else []:
        try:
            ids = json.loads(note.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(ids, list):
            notes.append((note, [str(i) for i in ids]))
    return notes


def spawn_catch_up(paths: Paths, mongo_uri: str | None, embed: bool = True) -> int:
    """Start `forge catch-up` detached from this terminal; returns its pid.

    The URI of a remote server travels in the environment (not on the command line,
    where `ps` would show its password); the embedded server's credentials are read
    from the data dir by the child itself."""
    env = dict(os.environ, FORGE_DATA_DIR=str(paths.data_dir))
    if mongo_uri:
        env["FORGE_MONGO_URI"] = mongo_uri
    private_dir(paths.log_dir)
    argv = [sys.executable, "-m", "forge_tui", "catch-up"] + ([] if embed else ["--no-embed"])
    with open_private(log_path(paths), "a", encoding="utf-8") as log:
        log.write(f"{stamp()} catch-up started by an import (pid {os.getpid()})\n")
        log.flush()
        child = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env,
                                 start_new_session=True, close_fds=True)
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


def stamp() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S")
