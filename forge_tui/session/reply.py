"""``ReplyStream``: a streaming reply's text, written before it is shown.

Pieces from the engine thread accumulate in memory. At most every ``FLUSH_S``
the text so far goes to the ``StoreWriter``; once the write has landed, the new
text is announced (``ReplyChunk``). So the pane never shows a character the store
does not have, and while the database is away the text waits in memory and is
written — then shown — when it returns.
"""

from __future__ import annotations

import threading
import time
from typing import Callable

from forge_tui.domain.models import Turn, TurnStatus, utcnow
from forge_tui.session import events as ev
from forge_tui.session.writer import StoreWriter
from forge_tui.store.repository import Store

#: how often streamed text is written (and then shown)
FLUSH_S = 0.1


class ReplyStream:
    def __init__(self, writer: StoreWriter, store: Store, turn: Turn, emit: Callable[[ev.Event], None],
                 flush_s: float = FLUSH_S, on_shown: Callable[[int], object] | None = None) -> None:
        """``on_shown(pieces)``: after each ``ReplyChunk``, how many pieces are on screen (the token meter)."""
        self._writer = writer
        self._store = store
        self.turn = turn
        self._emit = emit
        self._flush_s = flush_s
        self._pieces: list[str] = []
        self._lock = threading.Lock()
        self._flush_queued = False
        self._last_flush = time.monotonic()
        self._written = ""
        self._written_pieces = 0
        self._shown = 0
        self._on_shown = on_shown
        self._final = False

    def add(self, piece: str) -> None:
        """``on_piece`` for the engine (called on its thread)."""
        with self._lock:
            self._pieces.append(piece)
            now = time.monotonic()
            if self._flush_queued or now - self._last_flush < self._flush_s:
                return
            self._flush_queued = True
            self._last_flush = now
        self._writer.submit(self._write_partial, self._announce_partial)

    @property
    def text(self) -> str:
        with self._lock:
            return "".join(self._pieces)

    def _write_partial(self) -> None:
        with self._lock:
            text, pieces = "".join(self._pieces), len(self._pieces)
        if self._final:
            return
        self._store.update_turn(self.turn.id, content=text)
        self._written, self._written_pieces = text, pieces

    def _announce_partial(self) -> None:
        with self._lock:
            self._flush_queued = False
            text, shown = self._written, self._shown
            self._shown = len(text)
        if len(text) > shown and not self._final:
            self._emit(ev.ReplyChunk(self.turn.conversation_id, self.turn.id, text[shown:]))
            if self._on_shown is not None:
                self._on_shown(self._written_pieces)

    def finish(self, text: str, status: TurnStatus, error: str | None, finish: str,
               then: Callable[[Turn], None]) -> Turn:
        """Write the final text and status; ``ReplyFinished`` (then ``then(turn)``) once it has landed."""
        final = Turn(**{**self.turn.__dict__, "content": text, "status": status, "error": error,
                        "updated_at": utcnow()})

        def write() -> None:
            self._final = True
            self._store.update_turn(final.id, content=text, status=status, error=error, tokens=final.tokens,
                                    engine=final.engine, model=final.model,
                                    usage=final.usage, adapter=final.adapter)

        def announce() -> None:
            self._emit(ev.ReplyFinished(final.conversation_id, final, finish, error))
            then(final)

        self._writer.submit(write, announce)
        return final
