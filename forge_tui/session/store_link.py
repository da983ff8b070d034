"""How the session reaches its database, and the watch that brings it back.

``StoreLink`` is built by the composition root: for the embedded server it runs
the launcher (and again, with its stale-record recovery, when the server died);
for a remote ``--mongo-uri`` it can only wait for the server to answer.
``StoreMonitor`` checks the link a few times a second, so a dead embedded server
is noticed within a second and restarted; it reports to the controller, which
owns the store's status in the session state.
"""

from __future__ import annotations

import logging
import threading
from typing import Callable, Protocol

from pymongo.errors import PyMongoError

from forge_tui.store.errors import StoreError
from forge_tui.store.repository import Store

log = logging.getLogger(__name__)

CHECK_S = 0.25
RECOVER_RETRY_S = 1.0


class StoreLink(Protocol):
    @property
    def embedded(self) -> bool: ...

    def connect(self) -> Store:
        """The store, connected and with its schema set up (embedded: the server started).
        Raises ``StoreError`` or ``PyMongoError`` with a message naming the fix."""
        ...

    def alive(self) -> bool:
        """A quick check (embedded: the server process lives; remote: it answers a ping)."""
        ...

    def recover(self) -> str:
        """Bring the store back; returns what Forge did. Raises like ``connect``."""
        ...

    def label(self) -> str: ...


class StoreMonitor:
    """Watches ``link``; calls ``lost(problem)`` when it dies and ``back(what_forge_did)``
    when it answers again. Runs on its own daemon thread."""

    def __init__(self, link: StoreLink, lost: Callable[[str], None], back: Callable[[str], None],
                 failed: Callable[[str], None], check_s: float = CHECK_S) -> None:
        self._link = link
        self._lost = lost
        self._back = back
        self._failed = failed
        self._check_s = check_s
        self._wake = threading.Event()
        self._force = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="forge-store-monitor", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def check_now(self, recover: bool = False) -> None:
        """Check at once (a write failed); ``recover`` re-runs the launcher even if it looks alive (ctrl+r)."""
        self._force = self._force or recover
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def _alive(self) -> bool:
        try:
            return self._link.alive()
        except (StoreError, PyMongoError):
            return False

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._check_s)
            self._wake.clear()
            if self._stop.is_set():
                return
            forced, self._force = self._force, False
            if not forced and self._alive():
                continue
            if not forced:
                self._lost("The database server stopped answering." if self._link.embedded
                           else "The database at --mongo-uri stopped answering.")
            self._recover()

    def _recover(self) -> None:
        attempts = 0
        while not self._stop.is_set():
            attempts += 1
            try:
                what = self._link.recover()
            except (StoreError, PyMongoError) as exc:
                log.warning("store recovery failed: %s", exc)
                if attempts == 3:
                    self._failed(str(exc))
                self._wake.wait(RECOVER_RETRY_S)
                self._wake.clear()
                continue
            self._back(what)
            return
