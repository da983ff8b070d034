"""`forge dataset lora|extraction -o FILE.jsonl [--project P]`: training sets from your own history.

``extraction`` writes the hand corrections (pins and dismissals) as labelled
sentences, the format ``python -m forge_tui.knowledge.pipeline.train --extra``
reads, so the sentence classifier can be retrained on the user's own labels.
"""

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
    ext = kinds.add_parser(
        "extraction", help="your hand corrections as labelled sentences (JSONL) for retraining the extractor"
    )
    ext.add_argument("-o", "--output", required=True, help="the .jsonl file to write")
    ext.add_argument("--project", default=argparse.SUPPRESS, help="only this project (default: all)")
    ext.set_defaults(func=cmd_dataset_extraction)


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


def cmd_dataset_extraction(args, ctx) -> int:
    import json
    from pathlib import Path

    from forge_tui.knowledge.registry import Registry
    from forge_tui.store.private_files import write_private

    registry = Registry(ctx.store())
    rows = [{"text": c["text"], "label": c["label"], "role": c.get("role", "user"), "project": c["project"],
             "action": c.get("action", "")} for c in registry.corrections(getattr(args, "project", None))]
    path = Path(args.output)
    try:
        write_private(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    except OSError as exc:
        print(f"forge: cannot write {args.output}: {exc.strerror or exc}.", file=sys.stderr)
        return 2
    print(f"{len(rows)} labelled sentence(s) written to {path}")
    if not rows:
        print("No corrections yet: pin or dismiss items with `forge decisions add/dismiss` first.", file=sys.stderr)
    return 0
