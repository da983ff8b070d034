"""`forge import claude|chatgpt|transcript PATH` and `forge import mongo URI`: bring history in."""

from __future__ import annotations

import argparse
import sys

from forge_tui.commands.progress import Progress, ProgressCallback


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("import", help="import conversations (Claude, ChatGPT, transcripts, Forge OS MongoDB)")
    kinds = p.add_subparsers(dest="import_kind", metavar="SOURCE", required=True)
    helps = {
        "claude": "the Claude data export: .zip, its folder, or conversations.json",
        "chatgpt": "the ChatGPT data export: .zip, its folder, or conversations.json",
        "transcript": "a JSON, JSONL or YAML transcript ([{role, content}] or {title, project, messages})",
    }
    for kind, text in helps.items():
        k = kinds.add_parser(kind, help=text)
        k.add_argument("path", help="file or folder to import")
        _project_arg(k)
        k.set_defaults(func=cmd_import_file)
    m = kinds.add_parser("mongo", help="an existing Forge OS MongoDB database")
    m.add_argument("uri", help="MongoDB URI, e.g. mongodb://localhost:27017")
    m.add_argument("--db", dest="legacy_db", help="database name (default: the URI's, else 'forge_os')")
    _project_arg(m)
    m.set_defaults(func=cmd_import_mongo)


def _project_arg(parser) -> None:
    # SUPPRESS: do not overwrite a global `forge --project P import ...`.
    parser.add_argument("--project", default=argparse.SUPPRESS, help="project to import into (default: the source's, else 'default')")
    parser.add_argument("--no-pipeline", action="store_true",
                        help="only store the conversations (no classification or embedding; "
                             "`forge embeddings catch-up` catches up later)")
    parser.add_argument("--embed", choices=EMBED_MODES, default="background",
                        help="vectors for semantic search: 'background' (default: a detached `forge "
                             "embeddings catch-up`, so the import returns once stored and classified), "
                             "'now' (wait for them), 'later' (Forge or `forge embeddings catch-up` does it)")


#: How `forge import` gets vectors for what it stored (see background_embed).
EMBED_MODES = ("background", "now", "later")


def start_pipeline(ctx, enabled: bool = True, embed: str = "background"):
    """The work the live pipeline does on new turns, as a pass *after* an import.

    Storing comes first and alone, so a 10,000-conversation export is in within
    a minute. Then ``catch_up(conversation_ids)`` runs knowledge extraction (labels,
    decisions, threads, code patterns; rule-based, no LLM) on the imported turns not
    yet extracted, with a progress bar, and gets them vectors: by default a detached
    `forge embeddings catch-up` (loading the embedding model alone can take longer
    than the whole import); with ``embed="now"`` here, the model loading while we write.
    Both steps only pick up what is still pending, so Ctrl+C loses nothing: running
    the import again finishes them (and the app embeds pending messages in the background)."""
    if not enabled:
        return None
    settings = ctx.settings()
    wanted = settings.embed_on_write and embed != "later"
    embedder = ctx.embedder().start_loading() if wanted and embed == "now" else None  # loads while we write

    def catch_up(conversation_ids: list[str]) -> None:
        _extract_pending(ctx, settings, conversation_ids)
        if embedder is not None:
            _embed_pending(ctx, embedder)
        elif wanted:
            _embed_in_background(ctx)

    return catch_up


def _embed_in_background(ctx) -> None:
    from forge_tui.commands.background_embed import log_path, spawn_catch_up

    pid = spawn_catch_up(ctx.paths, ctx.mongo_uri)
    print(f"Embedding for semantic search continues in the background (pid {pid}; log {log_path(ctx.paths)}); "
          "keyword search works now. `forge embeddings status` shows what is left.", file=sys.stderr)


#: Conversations per read of pending turns in the extraction pass.
_EXTRACT_CHUNK = 200


def _extract_pending(ctx, settings, conversation_ids: list[str]) -> None:
    from forge_tui.knowledge.extraction import Extractor
    from forge_tui.store.codec import turn_from_doc

    store = ctx.store()
    chunks = [conversation_ids[i:i + _EXTRACT_CHUNK] for i in range(0, len(conversation_ids), _EXTRACT_CHUNK)]
    pending = sum(store.unextracted_count(c) for c in chunks)
    if not pending:
        return
    print(f"Extracting knowledge from {pending} imported message(s); Ctrl+C stops, "
          "running the import again finishes it.", file=sys.stderr)
    extractor = Extractor(ctx.registry(), None, settings)
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


def _embed_pending(ctx, embedder) -> None:
    from forge_tui.search.pipeline import EmbeddingPipeline

    if not embedder.wait(300):
        print(f"forge: embedding skipped ({embedder.error or 'model still loading'}); "
              "run `forge embeddings reembed` later.", file=sys.stderr)
        return
    pipeline = EmbeddingPipeline(ctx.store(), embedder)
    progress = ProgressCallback("embed")
    try:
        pipeline.embed_pending(full_scan=True, on_progress=progress)
    finally:
        progress.close()


def cmd_import_file(args, ctx) -> int:
    from forge_tui.importers.service import import_conversations
    from forge_tui.importers.sources import open_source

    total, stream = open_source(args.import_kind, args.path)  # a bad file: one line, exit 2 (cli.user_error)
    store = ctx.store()
    catch_up = start_pipeline(ctx, not args.no_pipeline, args.embed)
    bar = Progress(total, label=f"import {args.import_kind}")
    try:
        summary = import_conversations(store, stream, project=getattr(args, "project", None), progress=bar.advance)
    finally:
        bar.close()
    for line in summary.lines():
        print(line, flush=True)
    if catch_up is not None and summary.conversation_ids:
        catch_up(summary.conversation_ids)
    return 0


def cmd_import_mongo(args, ctx) -> int:
    from forge_tui.importers.legacy_mongo import LegacyImportError, import_forge_os

    store = ctx.store()
    catch_up = start_pipeline(ctx, not args.no_pipeline, args.embed)
    try:
        report = import_forge_os(
            store,
            args.uri,
            db_name=args.legacy_db,
            project=getattr(args, "project", None),
            progress_factory=lambda total: Progress(total, label="import mongo"),
        )
    except LegacyImportError as exc:
        print(f"forge: {exc}", file=sys.stderr)
        return 2
    for line in report.lines():
        print(line, flush=True)
    if catch_up is not None and report.summary.conversation_ids:
        catch_up(report.summary.conversation_ids)
    return 0
