"""Deterministic graders for ``forge train eval``: one score dict per (reference, output) pair.

* compression — the archive is valid (parses and passes the archive validator) and
  key-fact recall: the share of the reference archive's decisions, thread titles and
  constraints whose significant words mostly (≥ 60 %) appear in the output;
* decisions — label accuracy (a decision's priority, a thread's "resolved") and tier
  calibration (absolute error of the stated tier; a missing tier counts as error 1), and token F1;
* code and chat — exact match of the whitespace-normalised completion, and token F1.
"""

from __future__ import annotations

import re
from collections import Counter

from forge_tui.domain.models import Task
from forge_tui.knowledge.pipeline.text import words
from forge_tui.protocol.validate import ArchiveError, load_archive_text, safe_yaml

FACT_COVERAGE = 0.6
_TIER = re.compile(r"\btier:\s*([01](?:\.\d+)?)", re.I)
_PRIORITY = re.compile(r"\bpriority:\s*[\"']?(critical|high|medium|low)\b", re.I)
_RESOLVED = re.compile(r"\bis resolved\b", re.I)


def _facts(reference: str) -> list[str]:
    try:
        data = safe_yaml(reference)
    except ArchiveError:
        return []
    if not isinstance(data, dict):
        return []
    facts = [d.get("text", "") for d in data.get("decisions") or [] if isinstance(d, dict)]
    facts += [t.get("title", "") for t in data.get("threads") or [] if isinstance(t, dict)]
    facts += [c.get("quote", "") for c in data.get("constraints") or [] if isinstance(c, dict)]
    return [f for f in facts if isinstance(f, str) and words(f)]


def grade_compression(reference: str, output: str) -> dict[str, float]:
    try:
        load_archive_text(output)
        valid = 1.0
    except ArchiveError:
        valid = 0.0
    facts = _facts(reference)
    have = words(output)
    hits = [len(words(f) & have) / len(words(f)) >= FACT_COVERAGE for f in facts]
    return {"valid archive": valid, "key-fact recall": sum(hits) / len(hits) if hits else float(valid)}


def _decision_label(text: str) -> str | None:
    if _RESOLVED.search(text):
        return "resolved"
    m = _PRIORITY.search(text)
    return m.group(1).lower() if m else None


def grade_decisions(reference: str, output: str) -> dict[str, float]:
    label = _decision_label(reference)
    scores = {"label accuracy": float(label is not None and label == _decision_label(output))}
    ref_tier = _TIER.search(reference)
    if ref_tier:
        got = _TIER.search(output)
        scores["tier abs error"] = abs(float(got.group(1)) - float(ref_tier.group(1))) if got else 1.0
    scores["token F1"] = token_f1(reference, output)
    return scores


def _norm(text: str) -> str:
    return " ".join(text.split())


def token_f1(reference: str, output: str) -> float:
    ref, out = Counter(_norm(reference).split()), Counter(_norm(output).split())
    common = sum((ref & out).values())
    if not ref or not out or not common:
        return float(not ref and not out)
    precision, recall = common / sum(out.values()), common / sum(ref.values())
    return 2 * precision * recall / (precision + recall)


def grade_text(reference: str, output: str) -> dict[str, float]:
    return {"exact match": float(_norm(reference) == _norm(output)), "token F1": token_f1(reference, output)}


GRADERS = {
    Task.COMPRESSION: grade_compression,
    Task.DECISIONS: grade_decisions,
    Task.CODE: grade_text,
    Task.CHAT: grade_text,
}
#: metrics where lower is better (the report marks the better side accordingly)
LOWER_IS_BETTER = frozenset({"tier abs error"})
