"""`forge catch-up`: finish what imports left — knowledge extraction, then vectors.

The two passes the live pipeline runs on each new turn, run over imported turns.
Both only pick up what is still pending, so an interruption loses nothing."""

from __future__ import annotations

import sys

from forge_tui.commands.progress import Progress, ProgressCallback

#: Conversations per read of pending turns in the extraction pass.
EXTRACT_CHUNK = 200


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "catch-up", help="classify imported turns still waiting and embed messages without a vector "
                         "(what `forge import` leaves to the background)")
    p.add_argument("--no-embed", action="store_true", help="classify only")
    p.set_defaults(func=cmd_catch_up)


def extract_pending(ctx, conversation_ids: list[str]) -> int:
    """Knowledge extraction (labels, decisions, threads, code patterns; rules, no LLM) over
    the turns of these conversations it has not seen; returns how many it read."""
    from forge_tui.knowledge.extraction import Extractor
    from forge_tui.store.codec import turn_from_doc

    store = ctx.store()
    chunks = _chunks(conversation_ids)
    pending = pending_extraction(ctx, conversation_ids)
    if not pending:
        return 0
    print(f"Extracting knowledge from {pending} imported message(s); Ctrl+C stops, "
          "running the import again finishes it.", file=sys.stderr, flush=True)
    extractor = Extractor(ctx.registry(), None, ctx.settings())
    bar = Progress(pending, label="extract")
    try:
        for chunk in chunks:
            convs = {d["_id"]: d for d in store.conversation_docs(chunk)}
            for doc in store.unextracted_docs(chunk):
                conv = convs.get(doc["conversation_id"]) or {"project": doc.get("project")}
                extractor.process_turn(turn_from_doc(doc), conv, force=True)
                bar.advance()
    finally:
        bar.close()
    return pending


def pending_extraction(ctx, conversation_ids: list[str]) -> int:
    store = ctx.store()
    return sum(store.unextracted_count(chunk) for chunk in _chunks(conversation_ids))


def _chunks(conversation_ids: list[str]) -> list[list[str]]:
    return [conversation_ids[i:i + EXTRACT_CHUNK] for i in range(0, len(conversation_ids), EXTRACT_CHUNK)]


def embed_pending(ctx, embedder, wait_s: float = 300) -> tuple[int, int, str | None]:
    """Vectors for every message that lacks one, until none is left (messages stored
    meanwhile included); returns (embedded, still pending, error)."""
    from forge_tui.search.pipeline import EmbeddingPipeline

    if not embedder.wait(wait_s):
        return 0, -1, embedder.error or f"the embedding model was still loading after {wait_s:.0f} s"
    pipeline = EmbeddingPipeline(ctx.store(), embedder)
    total = 0
    while True:
        progress = ProgressCallback(f"embed ({embedder.name})")
        try:
            done = pipeline.embed_pending(full_scan=True, on_progress=progress)
        finally:
            progress.close()
        total += done
        left = pipeline.pending(full_scan=True)
        if done == 0 or left == 0:
            return total, left, pipeline.last_error


def cmd_catch_up(args, ctx) -> int:
    from forge_tui.commands.background_work import catch_up_lock, queued_extractions, stamp

    with catch_up_lock(ctx.paths):
        embedder = None
        if not args.no_embed and ctx.settings().embed_on_write:
            embedder = ctx.embedder().start_loading()  # loads while we classify
        for note, ids in queued_extractions(ctx.paths):
            n = extract_pending(ctx, ids)
            note.unlink(missing_ok=True)
            print(f"{stamp()} classified {n} imported turn(s) of {len(ids)} conversation(s)", flush=True)
        if embedder is not None:
            done, left, error = embed_pending(ctx, embedder, wait_s=600)
            if error:
                print(f"forge: embedding stopped ({error}); run `forge catch-up` again.", file=sys.stderr)
                return 2
            print(f"{stamp()} embedded {done} message(s); {left} left without a vector.", flush=True)
    return 0
