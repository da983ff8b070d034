"""`forge sessions` (its rename/delete/restore in ``trash``, its system prompts in ``prompts``), `forge show ID`,
`forge server status|stop`: check the store from a shell."""

from __future__ import annotations

import argparse
import json

from forge_tui.commands.output import rows_or_note
from forge_tui.commands.prompts import add_prompt_parser
from forge_tui.commands.resolve import resolve_conversation
from forge_tui.commands.trash import add_trash_parsers, list_trash
from forge_tui.domain.models import TRASH_KEEP_DAYS


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("sessions", help="list, rename, delete or restore conversations; system prompts")
    p.add_argument("--project", help="only this project")
    p.add_argument("--trash", action="store_true",
                   help=f"list the deleted conversations (restorable for {TRASH_KEEP_DAYS} days)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_sessions)
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    listing = actions.add_parser("list", help="list conversations (what `forge sessions` alone does)")
    # SUPPRESS: an option given before `list` is not reset by this parser's defaults
    listing.add_argument("--project", default=argparse.SUPPRESS, help="only this project")
    listing.add_argument("--trash", action="store_true", default=argparse.SUPPRESS, help="list the deleted ones")
    listing.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="machine-readable output")
    listing.set_defaults(func=cmd_sessions)
    add_trash_parsers(actions)
    add_prompt_parser(actions)

    p = subparsers.add_parser("show", help="show one conversation's turns")
    p.add_argument("id", help="conversation id (a unique prefix is enough)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_show)

    p = subparsers.add_parser("server", help="the embedded database server")
    p.add_argument("action", choices=["status", "stop"])
    p.set_defaults(func=cmd_server)


def _iso(dt) -> str | None:
    return dt.isoformat() if dt else None


def cmd_sessions(args, ctx) -> int:
    store = ctx.store()
    store.close_interrupted()
    if args.trash:
        return list_trash(store, args.project, args.json)
    convs = store.list_conversations(project=args.project)
    rows = [
        {"id": c.id, "project": c.project, "title": c.title, "turns": c.turn_count, "updated": _iso(c.updated_at)}
        for c in convs
    ]
    empty = (f"No conversations in project '{args.project}'. `forge sessions` lists every project's."
             if args.project else
             "No conversations yet. Run `forge` to start one, or `forge import ...` to bring history in.")
    if not rows_or_note(rows, args.json, empty):
        return 0
    for r in rows:
        print(f"{r['id'][:8]}  {r['project']:<12} {r['turns']:>4} turns  {r['updated'][:19]}  {r['title']}")
    return 0


def cmd_show(args, ctx) -> int:
    store = ctx.store()
    store.close_interrupted()
    conv = resolve_conversation(store, args.id)
    if conv is None:
        return 2
    tree = store.turn_tree(conv.id)
    turns = tree.path()  # the branch on show; other versions (regenerated, edited) are named per turn
    if args.json:
        print(json.dumps({
            "id": conv.id, "project": conv.project, "title": conv.title,
            "created": _iso(conv.created_at), "updated": _iso(conv.updated_at),
            "turns": [
                {"id": t.id, "seq": t.seq, "role": t.role.value, "status": t.status.value,
                 "created": _iso(t.created_at), "updated": _iso(t.updated_at), "content": t.content,
                 "error": t.error, "labels": t.labels, "versions": tree.siblings(t.id)}
                for t in turns
            ],
        }, indent=2, ensure_ascii=False))
        return 0
    print(f"# {conv.title}  [{conv.project}]  {conv.id}")
    for t in turns:
        status = "" if t.status.value == "complete" else f" ({t.status.value})"
        versions = tree.siblings(t.id)
        version = f" · version {versions.index(t.id) + 1}/{len(versions)}" if len(versions) > 1 else ""
        print(f"\n--- {t.role.value}{status} · {t.created_at.isoformat()[:19]}{version}")
        print(t.content)
    return 0


def cmd_server(args, ctx) -> int:
    from forge_tui.store.credentials import redact
    from forge_tui.store.server import EmbeddedServer

    server = EmbeddedServer(ctx.paths.mongo_dir, ctx.paths.server_state, ctx.paths.log_dir)
    if args.action == "status":
        uri = server.running_uri()
        print(f"running: {redact(uri)}" if uri else "not running")
        return 0
    print("stopped" if server.stop() else "was not running")
    return 0
