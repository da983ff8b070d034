"""What branches cost: opening a conversation as a walk, the knowledge pane's off-branch set, and
writing a turn that names its parent.

    .venv/bin/python bench/branch_walk.py [--turns 1000] [--versions 20] [--conversations 20] [--rounds 5]

On one SecantusDB server (in-process, a temporary directory), in one run:

1. **Open**: ``Store.turns`` (what opening read before branches existed) against
   ``Store.turn_tree(...).path()`` (the branch on show: every stored turn read, then walked), for a
   conversation of ``--turns`` turns with ``--versions`` regenerated replies spread along it.
   Median of ``--rounds``; the ratio is walk / plain read.
2. **Knowledge pane**: ``Store.off_branch_turn_ids(project)`` with ``--conversations`` branched
   conversations of 200 turns each in the project (the pane's view pays this once per refresh; the
   ``off_branch`` marks are kept by the writes that move a branch, so it is one indexed read).
3. **Write**: ``insert_turn`` of a turn with a parent (one extra read for its depth) against one
   without, 500 each, alternating.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pymongo import MongoClient  # noqa: E402

from forge_tui.domain.models import Conversation, Role, Turn  # noqa: E402
from forge_tui.store.repository import Store  # noqa: E402

BASE = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)


def conversation(store: Store, cid: str, project: str, turns: int, versions: int, parented: bool = True) -> None:
    """``turns`` turns in a line (each naming its parent), then ``versions`` regenerated replies spread along it."""
    store.create_conversation(Conversation(id=cid, project=project, title=cid, created_at=BASE, updated_at=BASE))
    parent = cid
    line: list[str] = []
    for seq in range(turns):
        tid = f"{cid}-{seq}"
        at = BASE + timedelta(seconds=seq)
        store.insert_turn(Turn(id=tid, conversation_id=cid, seq=seq, role=Role.USER if seq % 2 == 0 else Role.ASSISTANT,
                               content=f"turn {seq} " + "words " * 40, created_at=at, updated_at=at,
                               parent_id=parent if parented else None), project)
        line.append(tid)
        parent = tid
    seq = turns
    for n in range(versions):
        at = min(len(line) - 1, (n + 1) * turns // (versions + 1)) | 1  # an odd place: a reply
        replaced = line[at]
        tid = f"{cid}-v{n}"
        store.insert_turn(Turn(id=tid, conversation_id=cid, seq=seq, role=Role.ASSISTANT, content="again",
                               parent_id=line[at - 1]), project)
        store.record_branch(cid, replaced, tid, "regenerate")
        seq += 1
    store.set_head(cid, line[-1])  # back to the long branch


def timed(fn, rounds: int) -> float:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--turns", type=int, default=1000)
    parser.add_argument("--versions", type=int, default=20)
    parser.add_argument("--conversations", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    from secantus import SecantusDBServer

    with tempfile.TemporaryDirectory() as tmp:
        server = SecantusDBServer(host="127.0.0.1", port=0, storage_path=str(Path(tmp) / "data"))
        server.start()
        host, port = server.address
        client: MongoClient = MongoClient(f"mongodb://{host}:{port}/?directConnection=true", tz_aware=True)
        try:
            store = Store(client["bench_branches"])
            store.ensure_schema()
            conversation(store, "long", "bench", args.turns, args.versions)
            plain = timed(lambda: store.turns("long"), args.rounds)
            walk = timed(lambda: store.turn_tree("long").path(), args.rounds)
            shown = len(store.active_turns("long"))
            print(f"open {args.turns + args.versions} stored turns ({shown} on the branch on show, "
                  f"{args.versions} versions): plain read {plain * 1000:.1f} ms, walk {walk * 1000:.1f} ms, "
                  f"ratio {walk / plain:.2f}")

            for n in range(args.conversations):
                conversation(store, f"c{n}", "pane", 200, 2)
            off = timed(lambda: store.off_branch_turn_ids("pane"), args.rounds)
            print(f"off-branch set over {args.conversations} branched conversations x 202 turns: "
                  f"{off * 1000:.1f} ms ({len(store.off_branch_turn_ids('pane'))} ids)")

            store.create_conversation(Conversation(id="w", project="w", title="w"))
            costs: dict[str, list[float]] = {"with parent": [], "without": []}
            previous = "w"
            for seq in range(1000):
                label = "with parent" if seq % 2 == 0 else "without"
                turn = Turn(id=f"w-{seq}", conversation_id="w", seq=seq, role=Role.USER, content="x",
                            parent_id=previous if label == "with parent" else None)
                start = time.perf_counter()
                store.insert_turn(turn, "w")
                costs[label].append(time.perf_counter() - start)
                previous = turn.id
            with_parent, without = (statistics.median(costs[k]) for k in ("with parent", "without"))
            print(f"insert_turn: with parent {with_parent * 1000:.2f} ms, without {without * 1000:.2f} ms, "
                  f"ratio {with_parent / without:.2f} (median of 500 each)")
        finally:
            client.close()
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
