"""`forge search QUERY [--project P] [--limit N] [--json]`: hybrid search from a shell.

The embedding model loads in the background while the keyword index is built;
the command waits for it up to ``--wait`` seconds (default 30) and otherwise
answers with keyword results and a note. Messages not embedded yet (written by
an import, say) are embedded first when there are only a few.
"""

from __future__ import annotations

import json
import sys

from forge_tui.config import ConfigError

CATCH_UP_MAX = 300  # embed at most this many pending messages before answering


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("search", help="search every conversation (semantic + keyword)")
    p.add_argument("query", nargs="+", help="what to look for (words or a description)")
    p.add_argument("--project", help="only this project")
    p.add_argument("--limit", type=int, default=10, help="how many results (default 10)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--wait", type=float, default=30.0,
                   help="seconds to wait for the embedding model (0 = keyword results at once)")
    p.set_defaults(func=cmd_search)


def _fail(message: str) -> int:
    print(f"forge: {message}", file=sys.stderr)
    return 2


def cmd_search(args, ctx) -> int:
    from forge_tui.search.hybrid import SearchService
    from forge_tui.search.pipeline import EmbeddingPipeline

    if args.limit < 1:
        return _fail("--limit must be at least 1")
    query = " ".join(args.query).strip()
    if not query:
        return _fail("give something to search for: forge search WORDS")
    store = ctx.store()
    try:
        embedder = ctx.embedder()
    except ConfigError as exc:
        return _fail(str(exc))
    if args.wait > 0 and store.has_messages():
        embedder.start_loading()  # loads while the keyword index is built
    service = SearchService(store, embedder if args.wait > 0 else None)
    service.refresh()
    if service.status()["messages_indexed"] == 0:
        message = "no messages yet: chat in Forge or import conversations (`forge import …`) first"
        if args.json:
            print(json.dumps({"query": query, "project": args.project, "semantic": False,
                              "notes": [message], "hits": []}, indent=2))
        else:
            print(f"forge: {message}", file=sys.stderr)
        return 1
    notes: list[str] = []
    if args.wait > 0 and embedder.wait(args.wait):
        pipeline = EmbeddingPipeline(store, embedder)
        pending = pipeline.pending()
        if 0 < pending <= CATCH_UP_MAX:
            pipeline.embed_pending()
        elif pending > CATCH_UP_MAX:
            notes.append(
                f"{pending} messages are not embedded yet (semantic results may miss them): "
                f"run `forge embeddings reembed --model {embedder.name}` or open Forge"
            )
    result = service.search_with_notes(query, project=args.project, limit=args.limit)
    if args.wait <= 0:
        result.notes = [n for n in result.notes if "no embedding model" not in n]
        notes.append("keyword results only: --wait 0 skips the embedding model")
    notes = result.notes + notes
    if args.json:
        print(json.dumps({"query": query, "project": args.project, "semantic": result.semantic,
                          "notes": notes, "hits": [h.to_dict() for h in result.hits]},
                         indent=2, ensure_ascii=False))
        return 0 if result.hits else 1
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    for n, hit in enumerate(result.hits, start=1):
        when = hit.created_at.strftime("%Y-%m-%d %H:%M") if hit.created_at else "?"
        title = hit.conversation_title or "(untitled)"
        print(f"{n:>2}. {hit.project} › {title}  [{hit.role}, {when}, turn {hit.seq}]  "
              f"conv {hit.conversation_id[:8]}")
        print(f"    {hit.marked_snippet()}")
    return 0 if result.hits else 1
