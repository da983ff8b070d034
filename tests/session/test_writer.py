"""StoreWriter: writes land in order; while the database is away they wait in memory
(bounded, counted) and land when it answers; each is announced only once it has landed."""

from __future__ import annotations

import threading
import time

import pytest
from pymongo.errors import AutoReconnect

from forge_tui.session.writer import StoreWriter, WriteQueueFull


class FlakyDatabase:
    def __init__(self):
        self.up = threading.Event()
        self.up.set()
        self.rows: list[int] = []

    def write(self, value: int):
        def run() -> None:
            if not self.up.is_set():
                raise AutoReconnect("connection refused")
            self.rows.append(value)
        return run


def test_writes_wait_for_the_database_in_order_and_are_announced_after_landing():
    db = FlakyDatabase()
    health: list[bool] = []
    announced: list[int] = []
    writer = StoreWriter(lambda ok, problem: health.append(ok), limit=5, retry_s=0.02)
    db.up.clear()
    for value in range(3):
        writer.submit(db.write(value), lambda value=value: announced.append(value))
    time.sleep(0.1)
    assert db.rows == [] and announced == [] and writer.pending == 3 and writer.failing
    assert health == [False]
    writer.submit(db.write(3))
    writer.submit(db.write(4))
    with pytest.raises(WriteQueueFull, match="ctrl\\+r"):
        writer.submit(db.write(5))  # bounded: the sixth is refused, nothing is dropped silently
    db.up.set()
    assert writer.drain(5)
    assert db.rows == [0, 1, 2, 3, 4] and announced == [0, 1, 2]
    deadline = time.monotonic() + 5
    while len(health) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    # failing, landing again, and every held write landed (the count shown goes back to 0)
    assert health == [False, True, True] and writer.pending == 0 and not writer.failing
    writer.stop()


def test_drain_gives_up_after_its_timeout_while_the_database_is_away():
    db = FlakyDatabase()
    writer = StoreWriter(lambda ok, problem: None, retry_s=0.02)
    db.up.clear()
    writer.submit(db.write(1))
    started = time.perf_counter()
    assert not writer.drain(0.1)
    assert time.perf_counter() - started < 1.0
    writer.stop()
