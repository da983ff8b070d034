"""Notice conversations written by another process (``forge import`` while the app runs).

``StoreWatcher`` follows the ``conversations`` collection with a MongoDB change
stream (SecantusDB and replica sets offer them) and reports each burst of
changes once, as a ``StoreChanged``. A conversation document is written after
its turns (``Store.write_conversation_whole``), so when it changes its turns
are already there to list and index. Where the server has no change streams
(a standalone ``mongod``), it polls the collections' counts instead.

Changes are coalesced: an import of hundreds of conversations becomes a few
events, at most one per ``settle_s``.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Callable

from pymongo.errors import InvalidOperation, OperationFailure, PyMongoError

from forge_tui.store.repository import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StoreChanged:
    """Conversations were written or changed by someone (ids of those known; empty when polling)."""

    conversation_ids: tuple[str, ...]
    via: str  # "change stream" | "polling"


class StoreWatcher:
    def __init__(
        self,
        store: Store,
        on_change: Callable[[StoreChanged], None],
        settle_s: float = 0.5,
        poll_s: float = 2.0,
        change_streams: bool = True,
    ):
        self.db = store.db
        self.change_streams = change_streams
        self.on_change = on_change
        self.settle_s = settle_s
        self.poll_s = poll_s
        self.mode: str | None = None  # set once running: "change stream" or "polling"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.started = threading.Event()  # the stream (or the first poll) is in place

    def start(self) -> "StoreWatcher":
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="store-watcher", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    # -- the loop --------------------------------------------------------------
    def _run(self) -> None:
        if not self.change_streams:
            self._poll()
            return
        while not self._stop.is_set():
            try:
                self._follow_stream()
                return
            except InvalidOperation:  # the client was closed: Forge is exiting
                return
            except OperationFailure as exc:
                log.info("no change streams on this server (%s): polling every %.0f s", exc, self.poll_s)
                self._poll()
                return
            except PyMongoError as exc:  # connection trouble: try again shortly
                log.warning("store watcher lost the server: %s", exc)
                self._stop.wait(self.poll_s)

    def _follow_stream(self) -> None:
        pipeline = [{"$match": {"operationType": {"$in": ["insert", "update", "replace"]}}}]
        with self.db["conversations"].watch(pipeline, max_await_time_ms=int(self.settle_s * 1000)) as stream:
            self.mode = "change stream"
            self.started.set()
            pending: dict[str, None] = {}
            first_at = 0.0
            while not self._stop.is_set() and stream.alive:
                change = stream.try_next()
                if change is not None:
                    key = (change.get("documentKey") or {}).get("_id")
                    if not pending:
                        first_at = time.monotonic()
                    pending[str(key)] = None
                    if time.monotonic() - first_at < self.settle_s:
                        continue  # more of the same burst may follow
                if pending:
                    self._emit(StoreChanged(tuple(pending), "change stream"))
                    pending = {}

    def _signature(self) -> tuple[int, int]:
        return (self.db["conversations"].estimated_document_count(), self.db["messages"].estimated_document_count())

    def _poll(self) -> None:
        self.mode = "polling"
        last = self._signature()
        self.started.set()
        while not self._stop.wait(self.poll_s):
            try:
                now = self._signature()
            except InvalidOperation:
                return
            except PyMongoError as exc:
                log.warning("store watcher poll failed: %s", exc)
                continue
            if now != last:
                last = now
                self._emit(StoreChanged((), "polling"))

    def _emit(self, event: StoreChanged) -> None:
        try:
            self.on_change(event)
        except Exception:  # noqa: BLE001 - a consumer's failure must not end the watch
            log.exception("store change handler failed")
