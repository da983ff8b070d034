"""`forge export ID [--format md|json|yaml] [-o FILE]` and `forge export --all -o DIR`."""

from __future__ import annotations

import argparse
import sys


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("export", help="export conversations (Markdown, JSON, YAML) and archives (YAML)")
    p.add_argument("id", nargs="?", help="conversation id (a unique prefix is enough) or archive id")
    p.add_argument("--all", action="store_true", help="export every conversation and archive into the -o folder")
    p.add_argument("--format", "-f", dest="fmt", choices=["md", "json", "yaml"], default=None,
                   help="md for reading; json/yaml re-import with `forge import transcript` (default: md; json with --all)")
    p.add_argument("-o", "--output", help="file (or folder with --all); default: print to stdout")
    p.add_argument("--project", default=argparse.SUPPRESS, help="with --all: only this project")
    p.set_defaults(func=cmd_export)


def cmd_export(args, ctx) -> int:
    from forge_tui.export import ExportError, export_all, export_conversation, write_export

    if args.all == bool(args.id):
        print("forge: give a conversation ID, or --all with -o DIR.", file=sys.stderr)
        return 2
    store = ctx.store()
    try:
        if args.all:
            if not args.output:
                print("forge: --all writes one file per conversation; give a folder with -o DIR.", file=sys.stderr)
                return 2
            summary = export_all(store, args.output, args.fmt or "json", getattr(args, "project", None))
            print(f"Exported {summary.conversations} conversation(s) and {summary.archives} archive(s) to {args.output}")
            return 0
        if args.output:  # the same writer as the app's export screen (an existing file is replaced)
            write_export(store, args.id, args.fmt or "md", args.output, overwrite=True)
            print(f"Wrote {args.output}")
            return 0
        text = export_conversation(store, args.id, args.fmt or "md")
    except ExportError as exc:
        print(f"forge: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(text)
    return 0
