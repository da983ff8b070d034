"""``StoreWriter``: the session's writes, in order, on one thread, never lost to an outage.

A write that fails because the database is away stays at the head of the queue
and is retried until the store answers again; the ones behind it wait in
memory (bounded: ``limit``). Each write may carry a ``then`` callback that runs
once it has landed — the controller announces a turn or a piece of a reply
only then, so nothing the UI shows is missing from the store.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass
from typing import Callable

from pymongo.errors import PyMongoError

from forge_tui.store.errors import StoreError

log = logging.getLogger(__name__)

Write = Callable[[], object]  # what a write returns is ignored
Then = Callable[[], object]
#: (healthy, problem) — called from the writer thread when a write fails, when one lands again, and
#: once more when every write held during the outage has landed (so the count shown can reach 0)
HealthReport = Callable[[bool, str | None], None]

RETRY_S = 0.2


class WriteQueueFull(StoreError):
    """Too many writes wait for an unreachable database."""


@dataclass
class _Op:
    write: Write
    then: Then | None


class StoreWriter:
    def __init__(self, report: HealthReport, limit: int = 10_000, retry_s: float = RETRY_S) -> None:
        self._report = report
        self._limit = limit
        self._retry_s = retry_s
        self._queue: queue.Queue[_Op | None] = queue.Queue()
        self._pending = 0
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._stop = threading.Event()
        self._failing = False
        self._held = False  # writes waited during an outage: report once they have all landed
        self._thread = threading.Thread(target=self._run, name="forge-store-writer", daemon=True)
        self._thread.start()

    @property
    def pending(self) -> int:
        """Writes accepted but not yet in the store."""
        with self._lock:
            return self._pending

    @property
    def failing(self) -> bool:
        return self._failing

    def submit(self, write: Write, then: Then | None = None) -> None:
        with self._lock:
            if self._pending >= self._limit:
                raise WriteQueueFull(
                    f"{self._pending} writes are waiting for the database; Forge holds no more in memory. "
                    "Bring the database back (ctrl+r retries) before sending more.")
            self._pending += 1
        self._queue.put(_Op(write, then))

    def drain(self, timeout: float) -> bool:
        """Wait until every accepted write has landed (False on timeout)."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def stop(self) -> None:
        """Stop after the write in hand (a dead store makes that at most one retry interval)."""
        self._stop.set()
        self._queue.put(None)

    def _run(self) -> None:
        while not self._stop.is_set():
            op = self._queue.get()
            if op is None:
                return
            if not self._land(op.write):
                return
            with self._idle:
                self._pending -= 1
                drained = self._pending == 0 and self._held
                self._idle.notify_all()
            if drained:
                self._held = False
                self._report(True, None)
            if op.then is not None:
                try:
                    op.then()
                except Exception:  # an announcement failing must not stop the writes behind it
                    log.exception("after-write callback failed")

    def _land(self, write: Write) -> bool:
        while not self._stop.is_set():
            try:
                write()
            except PyMongoError as exc:
                if not self._failing:
                    self._failing = self._held = True
                    self._report(False, f"{type(exc).__name__}: {exc}")
                self._stop.wait(self._retry_s)
                continue
            if self._failing:
                self._failing = False
                self._report(True, None)
            return True
        return False
