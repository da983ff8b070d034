"""``SerialWorker``: runs submitted functions one at a time on one daemon thread.

A daemon thread (unlike ``ThreadPoolExecutor``'s, which the interpreter joins at
exit) cannot hold up quitting when it is stuck in a call to a dead database.
"""

from __future__ import annotations

import logging
import queue
import threading
from concurrent.futures import Future
from typing import Any, Callable

log = logging.getLogger(__name__)


class SerialWorker:
    def __init__(self, name: str) -> None:
        self._queue: queue.Queue[tuple[Future[Any], Callable[[], Any]] | None] = queue.Queue()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, fn: Callable[[], Any]) -> Future[Any] | None:
        """Queue ``fn``; None once the worker is shut down."""
        if self._closed:
            return None
        future: Future[Any] = Future()
        self._queue.put((future, fn))
        return future

    def on_thread(self) -> bool:
        return threading.current_thread() is self._thread

    def shutdown(self) -> None:
        """Drop queued work and stop after the call in hand (without waiting for it)."""
        self._closed = True
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                item[0].cancel()
        self._queue.put(None)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            future, fn = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn())
            except BaseException as exc:  # handed to whoever waits on the future
                future.set_exception(exc)
