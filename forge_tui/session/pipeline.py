"""The background pipeline every persisted turn goes through.

Live turns and imported ones take the same path: classify → embed → extract
knowledge → link pasted archives. Steps are injected by the composition root
(each is ``step(turn, conversation) -> Event | None``), run one turn at a
time on a daemon thread, and never block typing or streaming; a failing step is
logged and the others still run — the turn itself is already safe in the store.
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import Callable, Sequence

from forge_tui.domain.models import Conversation, Turn
from forge_tui.session.events import Event

log = logging.getLogger(__name__)

Step = Callable[[Turn, Conversation], "Event | None"]


class TurnPipeline:
    """A ``TurnHook`` for the controller; also callable for imported conversations."""

    def __init__(self, steps: Sequence[Step], emit: Callable[[Event], None] | None = None,
                 idle: Callable[[], None] | None = None, idle_every_s: float = 5.0,
                 yield_to: Callable[[], bool] | None = None):
        """``yield_to()`` true means "a reply is streaming": background work waits, because
        llama.cpp's threads slow down badly when torch or the model compete for the cores."""
        self.steps = list(steps)
        self._yield_to = yield_to
        self.emit = emit or (lambda event: None)
        self._idle = idle
        self._idle_every = idle_every_s
        self._queue: queue.Queue = queue.Queue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.processed = 0
        self.failures = 0

    def start(self) -> "TurnPipeline":
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="turn-pipeline", daemon=True)
            self._thread.start()
        return self

    # TurnHook
    def after_turn(self, turn: Turn, conversation: Conversation) -> None:
        self._queue.put((turn, conversation))

    def after_conversation(self, conversation: Conversation, turns: Sequence[Turn]) -> None:
        """Hook for importers: every imported turn goes through the same steps."""
        for turn in turns:
            self._queue.put((turn, conversation))

    def process_now(self, turn: Turn, conversation: Conversation) -> list[Event]:
        """Run every step synchronously (CLI imports, tests)."""
        out = []
        for step in self.steps:
            event = self._run_step(step, turn, conversation)
            if event is not None:
                out.append(event)
        self.processed += 1
        return out

    def drain(self, timeout: float = 60.0) -> bool:
        """Wait until everything queued so far has been processed."""
        done = threading.Event()
        self._queue.put(done)
        return done.wait(timeout)

    def stop(self) -> None:
        self._stop.set()
        self._queue.put(None)

    def _run_step(self, step: Step, turn: Turn, conversation: Conversation):
        try:
            return step(turn, conversation)
        except Exception:  # a step must never cost the user a turn; it is logged and retried later
            self.failures += 1
            log.exception("pipeline step %s failed for turn %s", getattr(step, "__name__", step), turn.id)
            return None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                item = self._queue.get(timeout=self._idle_every)
            except queue.Empty:
                if self._idle is not None and not (self._yield_to and self._yield_to()):
                    try:
                        self._idle()
                    except Exception:
                        log.exception("pipeline idle task failed")
                continue
            if item is None:
                break
            if isinstance(item, threading.Event):
                item.set()
                continue
            while self._yield_to is not None and self._yield_to() and not self._stop.is_set():
                self._stop.wait(0.05)
            for event in self.process_now(*item):
                self.emit(event)
