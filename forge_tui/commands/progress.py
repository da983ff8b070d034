"""A dependency-free progress bar for long CLI commands (imports, re-embedding)."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    def __init__(self, total: int, label: str = "", stream: TextIO | None = None, width: int = 30):
        self.total = max(total, 0)
        self.label = label
        self.stream = stream or sys.stderr
        self.width = width
        self.done = 0
        self._start = time.monotonic()
        self._last = 0.0
        self._tty = hasattr(self.stream, "isatty") and self.stream.isatty()

    def advance(self, n: int = 1, note: str = "") -> None:
        self.done += n
        now = time.monotonic()
        if now - self._last >= 0.1 or self.done >= self.total:
            self._last = now
            self._draw(note)

    def _draw(self, note: str) -> None:
        frac = (self.done / self.total) if self.total else 1.0
        filled = int(frac * self.width)
        bar = "#" * filled + "-" * (self.width - filled)
        rate = self.done / max(time.monotonic() - self._start, 1e-9)
        line = f"{self.label} [{bar}] {self.done}/{self.total} {rate:.0f}/s {note}"[:120]
        if self._tty:
            self.stream.write("\r" + line.ljust(120))
        elif self.done >= self.total or self.done % max(1, self.total // 10) == 0:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self._tty:
            self.stream.write("\n")
            self.stream.flush()


class ProgressCallback:
    """An ``on_progress(done, total)`` callback that opens its bar on the first call
    (services report the total only once they have counted the work)."""

    def __init__(self, label: str):
        self.label = label
        self.bar: Progress | None = None

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            self.bar = Progress(total, self.label)
        if done > self.bar.done:
            self.bar.advance(done - self.bar.done)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
