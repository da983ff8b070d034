"""Per-class precision and recall of the rule-based classifier on the labelled set.

The set has two splits: ``dev`` (the rules were tuned against it, so its scores
are optimistic) and ``holdout`` (written after tuning, never tuned against).

Run: ``python bench/classifier_report.py [--misses]``
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from forge_tui.knowledge.pipeline.topics import LABELS, classify  # noqa: E402

FIXTURE = ROOT / "tests" / "fixtures" / "classifier_set.jsonl"


def load(path: Path = FIXTURE) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def report(rows: list[dict]) -> dict[str, dict[str, float]]:
    stats = {}
    for label in LABELS:
        tp = fp = fn = 0
        for row in rows:
            got = label in classify(row["text"], row["role"])
            want = label in row["labels"]
            tp += got and want
            fp += got and not want
            fn += want and not got
        precision = tp / (tp + fp) if tp + fp else 1.0
        recall = tp / (tp + fn) if tp + fn else 1.0
        stats[label] = {"support": tp + fn, "tp": tp, "fp": fp, "fn": fn, "precision": precision, "recall": recall}
    return stats


def print_table(split: str, rows: list[dict]) -> None:
    stats = report(rows)
    exact = sum(sorted(classify(r["text"], r["role"])) == sorted(r["labels"]) for r in rows)
    print(f"\n[{split}] {len(rows)} messages; exact label-set match {exact}/{len(rows)}")
    print(f"{'class':<16}{'support':>8}{'precision':>11}{'recall':>8}")
    for label, s in stats.items():
        print(f"{label:<16}{s['support']:>8}{s['precision']:>11.2f}{s['recall']:>8.2f}")
    macro_p = sum(s["precision"] for s in stats.values()) / len(stats)
    macro_r = sum(s["recall"] for s in stats.values()) / len(stats)
    print(f"{'macro':<16}{'':>8}{macro_p:>11.2f}{macro_r:>8.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--misses", action="store_true", help="list every wrong label")
    args = parser.parse_args()
    rows = load()
    for split in ("dev", "holdout", "all"):
        subset = [r for r in rows if split == "all" or r.get("split", "dev") == split]
        print_table(split, subset)
    if args.misses:
        for row in rows:
            got = classify(row["text"], row["role"])
            if sorted(got) != sorted(row["labels"]):
                print(f"- [{row.get('split', 'dev')}] want {row['labels']} got {got}: {row['text'][:90]!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
