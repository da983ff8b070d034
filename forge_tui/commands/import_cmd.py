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
                             "`forge embeddings reembed` catches up later)")


def pipeline_hook(ctx, enabled: bool = True):
    """(on_written, finish) for an import: the live pipeline's work on imported turns.

    ``Services.import_pipeline()`` wins when the composition root offers one. Otherwise:
    knowledge extraction per turn (labels, decisions, threads, code patterns; rule-based,
    so thousands of imported turns do not each wait for the LLM), then ``finish()``
    embeds everything new in batches with a progress bar (as the app's idle task would).
    """
    if not enabled:
        return None, None
    factory = getattr(ctx, "import_pipeline", None)
    if callable(factory):
        return factory(), None
    from forge_tui.knowledge.extraction import Extractor

    settings = ctx.settings()
    embedder = ctx.embedder().start_loading() if settings.embed_on_write else None  # loads while we write
    extractor = Extractor(ctx.registry(), None, settings)

    def on_written(conversation, turns) -> None:
        for turn in turns:
            extractor.process_turn(turn, conversation)

    def finish() -> None:
        if embedder is None:
            return
        from forge_tui.search.pipeline import EmbeddingPipeline

        if not embedder.wait(300):
            print(f"forge: embedding skipped ({embedder.error or 'model still loading'}); "
                  "run `forge embeddings reembed` later.", file=sys.stderr)
            return
        pipeline = EmbeddingPipeline(ctx.store(), embedder)
        progress = ProgressCallback("embed")
        pipeline.embed_pending(full_scan=True, on_progress=progress)
        progress.close()

    return on_written, finish


def cmd_import_file(args, ctx) -> int:
    from forge_tui.importers.model import ImportInputError
    from forge_tui.importers.service import import_conversations
    from forge_tui.importers.sources import open_source

    try:
        total, stream = open_source(args.import_kind, args.path)
    except ImportInputError as exc:
        print(f"forge: {exc}", file=sys.stderr)
        return 2
    store = ctx.store()
    bar = Progress(total, label=f"import {args.import_kind}")
    on_written, finish = pipeline_hook(ctx, not args.no_pipeline)
    try:
        summary = import_conversations(
            store, stream, project=getattr(args, "project", None), on_written=on_written, progress=bar.advance
        )
    except ImportInputError as exc:
        bar.close()
        print(f"forge: {exc}", file=sys.stderr)
        return 2
    bar.close()
    if finish is not None and (summary.conversations or summary.updated):
        finish()
    for line in summary.lines():
        print(line)
    return 0


def cmd_import_mongo(args, ctx) -> int:
    from forge_tui.importers.legacy_mongo import LegacyImportError, import_forge_os

    store = ctx.store()
    on_written, finish = pipeline_hook(ctx, not args.no_pipeline)
    try:
        report = import_forge_os(
            store,
            args.uri,
            db_name=args.legacy_db,
            project=getattr(args, "project", None),
            on_written=on_written,
            progress_factory=lambda total: Progress(total, label="import mongo"),
        )
    except LegacyImportError as exc:
        print(f"forge: {exc}", file=sys.stderr)
        return 2
    if finish is not None and (report.summary.conversations or report.summary.updated):
        finish()
    for line in report.lines():
        print(line)
    return 0
