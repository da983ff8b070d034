"""The importers and the archive-YAML loader under a long hypothesis run (CI runs 150
examples each in tests/unit/test_importer_fuzz.py; this runs thousands).

    python bench/fuzz_importers.py [--examples 20000] [--only claude,chatgpt,transcript,archive]

A crash is any exception other than the one clear whole-input error
(``ImportInputError`` for a transcript that is not one, ``ArchiveError`` for YAML
that is not an archive). Prints, per target: inputs tried, conversations parsed,
skips (whole conversations and single messages), crashes and the places they came
from, and the time taken.
"""

from __future__ import annotations

import argparse
import collections
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "unit")]


def run_target(name: str, strategy, consume, examples: int) -> dict:
    from hypothesis import HealthCheck, given, settings

    stats = collections.Counter()
    crashes: collections.Counter = collections.Counter()

    @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(strategy)
    def target(value):
        stats["inputs"] += 1
        try:
            consume(value, stats)
        except Exception as exc:  # noqa: BLE001 - counting crashes is the point
            frame = traceback.extract_tb(exc.__traceback__)[-1]
            crashes[f"{type(exc).__name__} at {Path(frame.filename).name}:{frame.lineno} ({frame.name})"] += 1

    started = time.perf_counter()
    target()
    stats["seconds"] = round(time.perf_counter() - started, 1)
    return {"name": name, "stats": stats, "crashes": crashes}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--examples", type=int, default=20_000, help="inputs per target")
    ap.add_argument("--only", default="claude,chatgpt,transcript,archive")
    args = ap.parse_args()

    import importer_strategies as S

    from forge_tui.importers.chatgpt import iter_chatgpt_conversations
    from forge_tui.importers.claude import iter_claude_conversations
    from forge_tui.importers.model import ImportInputError, ParsedConversation, Skip
    from forge_tui.importers.transcript import iter_transcript
    from forge_tui.protocol.detect import find_archive_blocks
    from forge_tui.protocol.validate import ArchiveError, load_archive_text

    def count(stream, stats) -> None:
        for item in stream:
            if isinstance(item, ParsedConversation):
                stats["conversations parsed"] += 1
            elif isinstance(item, Skip):
                stats["whole skips" if item.whole else "message skips"] += 1
            else:
                raise TypeError(f"parser yielded {type(item).__name__}")

    def transcript(value, stats) -> None:
        try:
            count(iter_transcript(value, "fuzz.json"), stats)
        except ImportInputError:
            stats["refused as a whole"] += 1

    def archive(text, stats) -> None:
        try:
            load_archive_text(text)
            stats["valid archives"] += 1
        except ArchiveError:
            stats["refused as a whole"] += 1
        stats["blocks found"] += len(find_archive_blocks(text))

    targets = {
        "claude": (S.claude_export, lambda v, st: count(iter_claude_conversations(list(v)), st)),
        "chatgpt": (S.chatgpt_export, lambda v, st: count(iter_chatgpt_conversations(list(v)), st)),
        "transcript": (S.transcript_data, transcript),
        "archive": (S.archive_text, archive),
    }
    total_crashes = 0
    for name in args.only.split(","):
        strategy, consume = targets[name]
        result = run_target(name, strategy, consume, args.examples)
        stats, crashes = result["stats"], result["crashes"]
        total_crashes += sum(crashes.values())
        detail = ", ".join(f"{k} {v:,}" for k, v in stats.items() if k not in ("inputs", "seconds"))
        print(f"{name:<11} {stats['inputs']:>7,} inputs in {stats['seconds']:>6}s: "
              f"{sum(crashes.values())} crashes; {detail}")
        for where, n in crashes.most_common(12):
            print(f"    {n:>6} x {where}")
    print(f"total crashes: {total_crashes}")
    return 1 if total_crashes else 0


if __name__ == "__main__":
    raise SystemExit(main())
