"""Label stored messages that never went through extraction (imports, older data).

Live turns are labelled by ``Extractor.process_turn``; this catches the rest in
batches, cheaply (the classifier is regexes), and marks each message so a second
run skips it.
"""

from __future__ import annotations

from typing import Callable

from forge_tui.knowledge.pipeline.topics import classify
from forge_tui.store.repository import Store


def backfill_labels(
    store: Store, *, project: str | None = None, batch: int = 500, on_batch: Callable[[int], None] | None = None
) -> int:
    """Classify every message without ``labelled`` set; returns how many were labelled."""
    done = 0
    while True:
        docs = store.unlabelled_message_docs(project, batch)
        if not docs:
            return done
        store.set_labels({d["_id"]: classify(d.get("content") or "", d.get("role") or "user") for d in docs})
        done += len(docs)
        if on_batch is not None:
            on_batch(len(docs))
