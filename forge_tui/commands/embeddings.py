"""`forge embeddings compare|reembed|status`: change embedding models safely."""

from __future__ import annotations

import json
import sys

from forge_tui.config import ConfigError, EmbeddingSpec


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("embeddings", help="embedding models: compare, re-embed, status")
    sub = p.add_subparsers(dest="embeddings_action", metavar="ACTION", required=True)

    c = sub.add_parser("compare", help="how much two models agree on nearest neighbours (top-5 Jaccard)")
    c.add_argument("--model", action="append", required=True, metavar="MODEL",
                   help="give twice: --model A --model B (package:NAME, a local path, a hub name, or "
                        "'default' for [embedding].model of models.toml)")
    c.add_argument("--queries", type=int, default=20, help="user messages sampled as queries (default 20)")
    c.add_argument("--k", type=int, default=5, help="neighbours compared per query (default 5)")
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=cmd_compare)

    r = sub.add_parser("reembed", help="embed every message with MODEL, resumable; switch when complete")
    r.add_argument("--model", help="the model to switch to ('default' or left out: [embedding].model of models.toml)")
    r.add_argument("--limit", type=int, help="stop after this many messages (run again to continue)")
    r.set_defaults(func=cmd_reembed)

    s = sub.add_parser("status", help="active model, vectors per model, messages still to embed")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_status)


def _fail(message: str) -> int:
    print(f"forge: {message}", file=sys.stderr)
    return 2


def _embedder(ctx, model: str | None):
    from forge_tui.search.embedder import Embedder

    configured = ctx.models().embedding
    if model is not None and model.strip().lower() == "default":
        model = configured.model  # `--model default`: the one models.toml configures
    spec = configured if model in (None, configured.model) else EmbeddingSpec(
        model, configured.batch_size, configured.allow_download)
    return Embedder(spec).start_loading(), configured.model


def cmd_compare(args, ctx) -> int:
    from forge_tui.commands.progress import ProgressCallback
    from forge_tui.search.migration import MigrationError, compare_models

    if len(args.model) != 2:
        return _fail("compare needs exactly two models: --model A --model B")
    if args.queries < 1 or args.k < 1:
        return _fail("--queries and --k must be at least 1")
    try:
        emb_a, _ = _embedder(ctx, args.model[0])
        emb_b, _ = _embedder(ctx, args.model[1])
    except ConfigError as exc:
        return _fail(str(exc))
    store = ctx.store()
    progress = ProgressCallback("embedding corpus")
    try:
        report = compare_models(store, emb_a, emb_b, queries=args.queries, k=args.k, seed=args.seed,
                                on_progress=None if args.json else progress)
    except MigrationError as exc:
        return _fail(str(exc))
    finally:
        progress.close()
    if args.json:
        print(json.dumps({
            "model_a": report.model_a, "model_b": report.model_b, "k": report.k,
            "corpus_size": report.corpus_size, "mean_overlap": round(report.mean_overlap, 4),
            "per_query": [{"message_id": q.message_id, "query": q.query[:200], "overlap": round(q.overlap, 4)}
                          for q in report.per_query],
        }, indent=2, ensure_ascii=False))
        return 0
    print(f"{report.model_a}  vs  {report.model_b}: {len(report.per_query)} queries over "
          f"{report.corpus_size} messages, top-{report.k}")
    for q in report.per_query:
        text = " ".join(q.query.split())
        print(f"  {q.overlap:5.2f}  {text[:90]}")
    print(f"mean top-{report.k} Jaccard overlap: {report.mean_overlap:.3f}")
    return 0


def cmd_reembed(args, ctx) -> int:
    from forge_tui.commands.progress import ProgressCallback
    from forge_tui.search.migration import MigrationError, reembed

    if args.limit is not None and args.limit < 1:
        return _fail("--limit must be at least 1")
    try:
        embedder, configured = _embedder(ctx, args.model)
    except ConfigError as exc:
        return _fail(str(exc))
    store = ctx.store()
    progress = ProgressCallback(f"re-embedding with {embedder.name}")
    try:
        report = reembed(store, embedder, on_progress=progress, limit=args.limit)
    except MigrationError as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        progress.close()
        print(f"interrupted: the vectors written so far are kept; run `forge embeddings reembed --model "
              f"{embedder.name}` again to continue.", file=sys.stderr)
        return 130
    progress.close()
    if not report.complete:
        print(f"embedded {report.embedded}; {report.remaining} still to do. Run the same command again to "
              f"continue (nothing is switched until every message has a vector).")
        return 0
    if report.switched:
        print(f"embedded {report.embedded}; every message now has a {report.dim}-d vector from {report.model}. "
              f"Active embedding model: {report.model} (was {report.previous or 'none'}; old vectors kept).")
    else:
        print(f"embedded {report.embedded}; {report.model} was already active and is complete.")
    if report.model != configured:
        print(f"Set [embedding].model = \"{report.model}\" in {ctx.paths.models_file()} so new messages and "
              f"searches use it.")
    return 0


def cmd_status(args, ctx) -> int:
    from forge_tui.search.migration import embedding_status

    try:
        configured = ctx.models().embedding.model
    except ConfigError as exc:
        return _fail(str(exc))
    status = embedding_status(ctx.store(), configured)
    if args.json:
        print(json.dumps({
            "active": {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in status.active.items()}
            if status.active else None,
            "configured": status.configured, "messages": status.messages, "models": status.models,
        }, indent=2, ensure_ascii=False))
        return 0
    active = status.active["model"] if status.active else None
    print(f"configured model: {configured}")
    print(f"active model:     {active or 'none yet (no complete pass)'}")
    print(f"searchable messages: {status.messages}")
    for m in status.models:
        dims = "/".join(str(d) for d in m["dims"]) or "?"
        flag = " (active)" if m["model"] == active else ""
        print(f"  {m['model']}: {m['count']} vectors, {dims}-d{flag}")
    line = status.line_for(configured)
    have = line["count"] if line else 0
    if have < status.messages:
        from forge_tui.commands.background_work import catch_up_running, log_path

        if catch_up_running(ctx.paths):
            print(f"{status.messages - have} messages lack a {configured} vector; a background catch-up is "
                  f"embedding them now (log: {log_path(ctx.paths)}).")
        else:
            print(f"{status.messages - have} messages lack a {configured} vector: open Forge (it embeds in the "
                  f"background) or run `forge catch-up`.")
    if active and active != configured:
        print(f"The configured model differs from the active one: run `forge embeddings reembed --model "
              f"{configured}` to switch, or set [embedding].model = \"{active}\" in models.toml.")
    return 0
