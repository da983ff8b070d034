"""`forge import claude|chatgpt|transcript PATH` and `forge import mongo URI`: bring history in."""

from __future__ import annotations

import argparse
import sys

from forge_tui.commands.progress import Progress


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
                             "`forge catch-up` does both later)")
    parser.add_argument("--embed", choices=EMBED_MODES, default="background",
                        help="vectors for semantic search: 'background' (default: a detached `forge catch-up`, "
                             "so the import returns once stored), 'now' (wait for them and for every "
                             "turn's classification), 'later' (Forge or `forge catch-up` does it)")


#: How `forge import` gets vectors for what it stored (see background_work).
EMBED_MODES = ("background", "now", "later")


#: Imported turns classified by the import itself; more go to the background catch-up
#: (a few to a few dozen turns a second: 50,000 would hold the terminal for an hour).
FOREGROUND_TURNS = 500


def start_pipeline(ctx, enabled: bool = True, embed: str = "background"):
    """The work the live pipeline does on new turns, as a pass *after* an import.

    Storing comes first and alone, so a 10,000-conversation export is in within a
    minute. Then ``catch_up(conversation_ids)`` runs knowledge extraction (labels,
    decisions, threads, code patterns; rules, no LLM) on the imported turns not yet
    extracted — here, with a progress bar, up to ``FOREGROUND_TURNS``; beyond that in a
    detached `forge catch-up` — and gets them vectors: by default in that background
    process too (loading the embedding model alone can take longer than the import);
    with ``embed="now"`` everything happens here, the model loading while we write.
    Both passes only pick up what is still pending, so Ctrl+C loses nothing: running
    the import again (or `forge catch-up`) finishes them."""
    if not enabled:
        return None
    wanted = ctx.settings().embed_on_write and embed != "later"
    embedder = ctx.embedder().start_loading() if wanted and embed == "now" else None  # loads while we write

    def catch_up(conversation_ids: list[str]) -> None:
        from forge_tui.commands.catch_up import embed_pending, extract_pending, pending_extraction

        queued = False
        if embed == "now" or pending_extraction(ctx, conversation_ids) <= FOREGROUND_TURNS:
            extract_pending(ctx, conversation_ids)
        else:
            from forge_tui.commands.background_work import queue_extraction

            queue_extraction(ctx.paths, conversation_ids)
            queued = True
        if embedder is not None:
            done, left, error = embed_pending(ctx, embedder)
            if error:
                print(f"forge: embedding skipped ({error}); run `forge catch-up` later.", file=sys.stderr)
        elif wanted or queued:
            _continue_in_background(ctx, queued, wanted)

    return catch_up


def _continue_in_background(ctx, classify: bool, embed: bool) -> None:
    from forge_tui.commands.background_work import log_path, spawn_catch_up

    pid = spawn_catch_up(ctx.paths, ctx.mongo_uri, embed=embed)
    what = " and ".join(w for w, on in (("classifying the imported turns", classify),
                                         ("embedding for semantic search", embed)) if on)
    print(f"{what[0].upper()}{what[1:]} continues in the background (pid {pid}; log {log_path(ctx.paths)}); "
          "keyword search works now. `forge catch-up` finishes it if it is stopped; "
          "`forge embeddings status` shows the vectors still to write.", file=sys.stderr)


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
