"""Label stored messages that never went through extraction (imports, older data).

Live turns are labelled by ``Extractor.process_turn``; this catches the rest in
batches, cheaply (the classifier is regexes), and marks each message so a second
run skips it.
"""

from __future__ import annotations

from typing import Callable

from pymongo import UpdateOne
from pymongo.database import Database

from forge_tui.knowledge.pipeline.topics import classify


def backfill_labels(
    db: Database, *, project: str | None = None, batch: int = 500, on_batch: Callable[[int], None] | None = None
) -> int:
    """Classify every message without ``labelled`` set; returns how many were labelled."""
    query: dict = {"labelled": {"$ne": True}}
    if project is not None:
        query["project"] = project
    done = 0
    while True:
        docs = list(db["messages"].find(query, {"content": 1, "role": 1}).limit(batch))
        if not docs:
            return done
        ops = [
            UpdateOne(
                {"_id": d["_id"]},
                {"$set": {"labels": classify(d.get("content") or "", d.get("role") or "user"), "labelled": True}},
            )
            for d in docs
        ]
        db["messages"].bulk_write(ops, ordered=False)
        done += len(ops)
        if on_batch is not None:
            on_batch(len(ops))
