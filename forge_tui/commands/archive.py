"""`forge compress`, `forge continue`, `forge archive validate|show`, `forge lineage`."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

from forge_tui.protocol.validate import ArchiveError, load_archive_text
from forge_tui.store.private_files import write_private


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("compress", help="compress a conversation into a YAML archive")
    p.add_argument("id", help="conversation id (a unique prefix is enough)")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--lossless", action="store_true", help="keep every item verbatim, no budget")
    group.add_argument("--partial", metavar="MESSAGE_ID", help="compress up to this message, keep the rest verbatim")
    p.add_argument("--context", metavar="ARCHIVE", nargs="+", action="extend", default=[],
                   help="archive ids or files to bridge in as inherited context")
    p.add_argument("--model", dest="compress_model", metavar="NAME", help="model from models.toml")
    p.add_argument("--rules-only", action="store_true",
                   help="no model: the archive from the extraction pipeline alone (fast, works offline)")
    p.add_argument("--budget", type=int, help="archive token budget (default: settings.archive_token_budget)")
    p.add_argument("-o", "--output", metavar="FILE", help="also write the YAML here")
    p.set_defaults(func=cmd_compress)

    p = subparsers.add_parser("continue", help="start a new conversation from an archive")
    p.add_argument("archive", help="archive id (prefix) or an archive YAML file")
    p.add_argument("--title", help="title of the new conversation")
    p.set_defaults(func=cmd_continue)

    p = subparsers.add_parser("archive", help="check or show archives")
    sub = p.add_subparsers(dest="archive_action", metavar="ACTION", required=True)
    v = sub.add_parser("validate", help="validate an archive YAML file")
    v.add_argument("file")
    v.set_defaults(func=cmd_validate)
    s = sub.add_parser("show", help="print a stored archive's YAML")
    s.add_argument("id", help="archive id (a unique prefix is enough)")
    s.set_defaults(func=cmd_show)

    p = subparsers.add_parser("lineage", help="ancestors and descendants of a conversation or archive")
    p.add_argument("id", help="conversation or archive id (a unique prefix is enough)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_lineage)


def _fail(message: str) -> int:
    print(f"forge: {message}", file=sys.stderr)
    return 2


def _read_archive_file(path: str) -> tuple[dict, str]:
    file = Path(path).expanduser()
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ArchiveError(f"{file} does not exist") from None
    except UnicodeDecodeError:
        raise ArchiveError(f"{file} is not UTF-8 text") from None
    except OSError as exc:
        raise ArchiveError(f"cannot read {file}: {exc.strerror}") from None
    return load_archive_text(text), text


def _archive_ref(store, ref: str):
    """An archive id for ``ref``: a stored id/prefix, or a file imported into the store."""
    from forge_tui.compression import import_archive

    if Path(ref).expanduser().is_file():
        data, text = _read_archive_file(ref)
        return import_archive(store, data, text)
    return ref


def cmd_compress(args, ctx) -> int:
    from forge_tui.commands.sessions import resolve_conversation
    from forge_tui.compression import CompressionError, compress

    store = ctx.store()
    conv = resolve_conversation(store, args.id)
    if conv is None:
        return 2
    mode = "lossless" if args.lossless else "partial" if args.partial else "default"
    budget = args.budget or ctx.settings().archive_token_budget
    try:
        context = [_archive_ref(store, ref) for ref in args.context]
    except ArchiveError as exc:
        return _fail(f"--context: {exc}")
    from forge_tui.session.routing import EnginePool, Router, RoutingExhausted

    progress = _StageProgress()
    if getattr(args, "rules_only", False):
        try:
            result = compress(store, None, conv.id, mode=mode, upto_message_id=args.partial, budget_tokens=budget,
                              context_archives=context, on_progress=progress)
        except CompressionError as exc:
            return _fail(f"compression failed: {exc}")
        finally:
            progress.close()
        return _written(args, result, "rules only")
    chosen = args.compress_model or getattr(args, "model", None)
    models = ctx.models()
    pool = EnginePool(lambda name: ctx.engine(name, models), current=lambda: ("", None))  # "" = no model in use
    router = Router(models if chosen is None else replace(models, routing={}), pool, ctx.settings().cloud_allowed)
    chain = " → ".join(models.chain("compress", chosen) if chosen is None else (chosen,))
    print(f"compressing {conv.id[:8]} ({mode}) with {chain} …", file=sys.stderr)
    last = (models.chain("compress", chosen) if chosen is None else (chosen,))[-1]

    def run(engine):
        # a model's unusable answer escalates to the next model; the last one's falls back to the rules
        return compress(store, engine, conv.id, mode=mode, upto_message_id=args.partial, budget_tokens=budget,
                        context_archives=context, on_progress=progress,
                        max_tokens=ctx.settings().compress_wording_tokens,
                        require_model=engine is not None and engine.model_name != last)

    try:
        routed = router.run("compress", conv.project, run, escalate_on=(CompressionError,), current=chosen,
                            rules=lambda: run(None))
    except CompressionError as exc:
        if exc.partial:
            print(exc.partial, file=sys.stderr)
        return _fail(f"compression failed: {exc}")
    except RoutingExhausted as exc:
        return _fail(f"compression failed: {exc} (`forge compress --rules-only` makes an archive without a model)")
    except KeyboardInterrupt:
        return _fail("compression cancelled; nothing was written")
    finally:
        progress.close()
        pool.close()
    for attempt in routed.attempts[:-1]:
        print(f"  {attempt.model}: {attempt.outcome} ({attempt.reason})", file=sys.stderr)
    if routed.value.model_note:
        print(f"note: the model's wording was not used ({routed.value.model_note}); the archive is the "
              "rule-based one", file=sys.stderr)
    return _written(args, routed.value, f"{routed.model}, {routed.engine}")


def _written(args, result, written_by: str) -> int:
    if args.output:
        write_private(Path(args.output).expanduser(), result.yaml_text)
    print(result.yaml_text, end="")
    note = f"; dropped {len(result.dropped)} low-priority items" if result.dropped else ""
    print(f"archive {result.archive_id}: {result.tokens_source} -> {result.tokens_archive} tokens{note}"
          f" (written by {written_by})", file=sys.stderr)
    return 0


class _StageProgress:
    """One progress bar per compression stage (extraction of a long session, model wording)."""

    LABELS = {"extract": "reading turns", "wording": "model wording"}

    def __init__(self) -> None:
        from forge_tui.commands.progress import ProgressCallback

        self._factory = ProgressCallback
        self._stage: str | None = None
        self._bar = None

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage != self._stage:
            self.close()
            self._stage, self._bar = stage, self._factory(self.LABELS.get(stage, stage))
        assert self._bar is not None
        self._bar(done, total)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def cmd_continue(args, ctx) -> int:
    from forge_tui.compression import CompressionError, continue_from

    store = ctx.store()
    try:
        archive_id = _archive_ref(store, args.archive)
        conv = continue_from(store, archive_id, title=args.title)
    except (ArchiveError, CompressionError) as exc:
        return _fail(str(exc))
    print(f"{conv.id}  {conv.title}  (continues archive {conv.archive_context})")
    return 0


def cmd_validate(args, ctx) -> int:
    try:
        data, _ = _read_archive_file(args.file)
    except ArchiveError as exc:
        for issue in exc.issues[1:]:
            print(f"  {issue}", file=sys.stderr)
        return _fail(f"{args.file}: {exc}")
    h = data["header"]
    print(f"{args.file}: valid ({len(data['decisions'])} decisions, {len(data['threads'])} threads, "
          f"{len(data['artifacts'])} artifacts, {len(data['constraints'])} constraints; archive {h['archive_id']})")
    return 0


def cmd_show(args, ctx) -> int:
    from forge_tui.compression import CompressionError, load_archive
    from forge_tui.protocol.render import dump_archive

    store = ctx.store()
    try:
        archive = load_archive(store, args.id)
    except CompressionError as exc:
        return _fail(str(exc))
    print(dump_archive(archive), end="")
    return 0


def cmd_lineage(args, ctx) -> int:
    from forge_tui.compression import lineage

    store = ctx.store()
    node = _resolve_node(store, args.id)
    if node is None:
        return _fail(f"no conversation or archive with id '{args.id}' (or the prefix is ambiguous)")
    result = lineage(store, node)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{result['type']} {node}")
    for title, rows in (("ancestors", result["ancestors"]), ("descendants", result["descendants"])):
        print(f"{title}:" if rows else f"{title}: none")
        for r in rows:
            print(f"  {'  ' * (r['depth'] - 1)}{r['type']:<12} {r['id']}  ({r['via']})")
    return 0


def _resolve_node(store, ident: str) -> str | None:
    if not ident.strip():
        return None  # a blank prefix would match everything
    if store.has_conversation(ident) or store.has_archive(ident):
        return ident
    hits = store.conversation_ids_by_prefix(ident, limit=2) + store.archive_ids_by_prefix(ident, limit=2)
    return hits[0] if len(hits) == 1 else None
