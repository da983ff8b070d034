"""Issue 2 benchmarks: launch → first paint, and persisting a turn on the embedded server.

    .venv/bin/python bench/startup_and_persist.py [--runs 5] [--turns 500]

First paint: a fresh interpreter runs the real composition root (`build_app`) headless and
reports when Textual hands its first frame to the driver; interpreter start-up and imports
are included.
The model and torch load in the background and are not waited for.
Persist: `Store.insert_turn` (a new turn) and `Store.update_turn` (a streaming flush) against
the embedded SecantusDB server started exactly as the app starts it (journal fsynced per commit).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PAINT_SCRIPT = r"""
import time, sys
t0 = float(sys.argv[1])
from forge_tui.services import Services
from forge_tui.app_factory import build_app
services = Services.from_args(sys.argv[2])
app = build_app(services)
first = []
display = app._display

def timed_display(*args, **kwargs):
    # the first frame Textual hands to its driver: what a user would see
    if not first:
        first.append(time.time() - t0)
    return display(*args, **kwargs)

app._display = timed_display

async def auto(pilot):
    while not first:
        await pilot.pause(0.01)
    print(f"PAINT {first[0]:.4f}", flush=True)
    pilot.app.exit()

app.run(headless=True, auto_pilot=auto, size=(120, 40))
import os; os._exit(0)
"""


def first_paint(runs: int) -> list[float]:
    out = []
    with tempfile.TemporaryDirectory() as data:
        for _ in range(runs):
            t0 = time.time()
            proc = subprocess.run([sys.executable, "-c", PAINT_SCRIPT, repr(t0), data], capture_output=True,
                                  text=True, cwd=ROOT, timeout=120)
            line = [l for l in proc.stdout.splitlines() if l.startswith("PAINT")]
            if not line:
                raise SystemExit(f"no paint reported:\n{proc.stdout}\n{proc.stderr[-2000:]}")
            out.append(float(line[0].split()[1]))
        subprocess.run([sys.executable, "-m", "forge_tui", "--data-dir", data, "server", "stop"],
                       cwd=ROOT, capture_output=True)
    return out


def persist(turns: int) -> tuple[list[float], list[float]]:
    sys.path.insert(0, str(ROOT))
    from forge_tui.domain.ids import conversation_id, message_id
    from forge_tui.domain.models import Conversation, Role, Turn, TurnStatus, utcnow
    from forge_tui.store.repository import Store
    from forge_tui.store.server import EmbeddedServer

    with tempfile.TemporaryDirectory() as data:
        server = EmbeddedServer(Path(data) / "mongo", Path(data) / "server.json", Path(data) / "logs")
        try:
            store = Store.connect(server.ensure_running())
            store.ensure_schema()
            now = utcnow()
            conv = Conversation(id=conversation_id("bench", "c", now), project="bench", title="bench")
            store.create_conversation(conv)
            inserts, updates = [], []
            for i in range(turns):
                t = Turn(id=message_id(conv.id, str(i), now), conversation_id=conv.id, seq=i,
                         role=Role.ASSISTANT, content="", status=TurnStatus.STREAMING)
                s = time.perf_counter()
                store.insert_turn(t, "bench")
                inserts.append(time.perf_counter() - s)
                s = time.perf_counter()
                store.update_turn(t.id, content="partial reply " * 20)
                updates.append(time.perf_counter() - s)
            store.db.client.close()
        finally:
            server.stop()
    return inserts, updates


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--turns", type=int, default=500)
    args = ap.parse_args()
    paints = first_paint(args.runs)
    print(f"launch -> first paint: median {statistics.median(paints)*1000:.0f} ms, "
          f"min {min(paints)*1000:.0f} ms, max {max(paints)*1000:.0f} ms over {len(paints)} runs (goal < 1000 ms)")
    inserts, updates = persist(args.turns)
    for name, vals in (("insert turn", inserts), ("update streaming turn", updates)):
        print(f"{name}: p50 {pct(vals, 50)*1000:.2f} ms, p99 {pct(vals, 99)*1000:.2f} ms over {len(vals)}")


if __name__ == "__main__":
    main()
