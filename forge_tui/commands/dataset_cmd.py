"""`forge dataset lora -o FILE.jsonl [--project P]`: a fine-tuning set from your own history."""

from __future__ import annotations

import argparse
import sys


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("dataset", help="build fine-tuning datasets from your history")
    kinds = p.add_subparsers(dest="dataset_kind", metavar="KIND", required=True)
    lora = kinds.add_parser("lora", help="chat-format JSONL: compressions, decisions, resolved threads, code patterns")
    lora.add_argument("-o", "--output", required=True, help="the .jsonl file to write")
    lora.add_argument("--project", default=argparse.SUPPRESS, help="only this project (default: all)")
    lora.set_defaults(func=cmd_dataset_lora)


def cmd_dataset_lora(args, ctx) -> int:
    from forge_tui.dataset.lora import build_lora_dataset

    store = ctx.store()
    try:
        summary = build_lora_dataset(store, args.output, project=getattr(args, "project", None))
    except OSError as exc:
        print(f"forge: cannot write {args.output}: {exc.strerror or exc}.", file=sys.stderr)
        return 2
    for line in summary.lines():
        print(line)
    if summary.total == 0:
        print("No examples yet: compress conversations, record decisions, or import history first.", file=sys.stderr)
    return 0
