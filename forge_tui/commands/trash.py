"""`forge sessions rename|delete|restore` and `forge sessions --trash`.

Deleting moves a conversation to the trash (``TRASH_PROJECT``), where its turns
stay out of search and retrieval and it can be restored for ``TRASH_KEEP_DAYS``
days; only ``delete --purge`` (or the app's start-up) removes older ones for good.
"""

from __future__ import annotations

import sys
from datetime import timedelta

from forge_tui.commands.output import rows_or_note
from forge_tui.commands.resolve import resolve_conversation
from forge_tui.domain.models import TRASH_KEEP_DAYS, TRASH_PROJECT, Conversation


def add_trash_parsers(actions) -> None:
    a = actions.add_parser("rename", help="give a conversation a new title")
    a.add_argument("id", help="conversation id (a unique prefix is enough)")
    a.add_argument("title", nargs="+", help="the new title")
    a.set_defaults(func=cmd_rename)

    a = actions.add_parser(
        "delete", help=f"move a conversation to the trash (restorable for {TRASH_KEEP_DAYS} days)")
    a.add_argument("id", nargs="?", help="conversation id (a unique prefix is enough)")
    a.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    a.add_argument("--purge", action="store_true",
                   help=f"delete for good what has been in the trash more than {TRASH_KEEP_DAYS} days")
    a.set_defaults(func=cmd_delete)

    a = actions.add_parser("restore", help="bring a conversation back from the trash into its project")
    a.add_argument("id", help="conversation id (a unique prefix is enough)")
    a.set_defaults(func=cmd_restore)


def _error(message: str) -> int:
    print(f"forge: {message}", file=sys.stderr)
    return 2


def _label(conv: Conversation) -> str:
    return f"'{conv.title or '(untitled)'}' ({conv.id[:8]})"


def _purged_after(conv: Conversation) -> str:
    assert conv.trashed_at is not None
    return (conv.trashed_at + timedelta(days=TRASH_KEEP_DAYS)).date().isoformat()


def list_trash(store, project: str | None, as_json: bool) -> int:
    """The trash, newest deletion first; ``project`` keeps those that came from it."""
    convs = [c for c in store.list_conversations(project=TRASH_PROJECT)
             if project is None or c.trashed_from == project]
    convs.sort(key=lambda c: c.trashed_at, reverse=True)
    rows = [
        {"id": c.id, "from_project": c.trashed_from, "title": c.title, "turns": c.turn_count,
         "deleted": c.trashed_at.isoformat() if c.trashed_at else None, "purged_after": _purged_after(c)}
        for c in convs
    ]
    if not rows_or_note(rows, as_json, "The trash is empty."):
        return 0
    for r in rows:
        print(f"{r['id'][:8]}  {r['from_project'] or '':<12} {r['turns']:>4} turns  deleted {r['deleted'][:19]}"
              f"  purged after {r['purged_after']}  {r['title']}")
    return 0


def cmd_rename(args, ctx) -> int:
    store = ctx.store()
    conv = resolve_conversation(store, args.id)
    if conv is None:
        return 2
    title = " ".join(" ".join(args.title).split())
    if not title:
        return _error("the new title is empty; give the conversation a name, e.g. `forge sessions rename ID 'Garden plans'`")
    store.rename_conversation(conv.id, title)
    print(f"renamed {conv.id[:8]}: '{conv.title}' -> '{title}'")
    return 0


def _confirm(conv: Conversation) -> bool:
    prompt = (f"Move {_label(conv)}, {conv.turn_count} turns, to the trash? "
              f"It can be restored for {TRASH_KEEP_DAYS} days. [y/N] ")
    try:
        answer = input(prompt)
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


def cmd_delete(args, ctx) -> int:
    if args.purge and args.id:
        return _error("give a conversation id or --purge, not both")
    if not args.purge and args.id is None:
        return _error("name the conversation to delete (`forge sessions` lists ids), or pass --purge to empty "
                      f"the trash of what is older than {TRASH_KEEP_DAYS} days")
    store = ctx.store()
    if args.purge:
        purged = store.purge_trash()
        print(f"purged {len(purged)} conversation(s) deleted more than {TRASH_KEEP_DAYS} days ago")
        return 0
    conv = resolve_conversation(store, args.id)
    if conv is None:
        return 2
    if conv.in_trash:
        print(f"{_label(conv)} is already in the trash (purged after {_purged_after(conv)})")
        return 0
    if not args.yes:
        if not sys.stdin.isatty():
            return _error("deleting asks for confirmation, and there is no terminal to ask on: pass --yes")
        if not _confirm(conv):
            print("kept")
            return 1
    trashed = store.trash_conversation(conv.id)
    print(f"moved {_label(conv)} to the trash; `forge sessions restore {conv.id[:8]}` brings it back "
          f"until {_purged_after(trashed)}")
    return 0


def cmd_restore(args, ctx) -> int:
    store = ctx.store()
    conv = resolve_conversation(store, args.id)
    if conv is None:
        return 2
    if not conv.in_trash:
        return _error(f"{_label(conv)} is not in the trash (`forge sessions --trash` lists what is)")
    restored = store.restore_conversation(conv.id)
    print(f"restored {_label(conv)} into project '{restored.project}'")
    return 0
